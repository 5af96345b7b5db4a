// mem_bw rows of the registry: STREAM's four kernels on every backend, non-temporal variants where the ISA has
// them (x86-64: SSE2 streaming stores) on the openmp backend.
#include "prunebench/gemm.h"  // eigen_isa_status
#include "prunebench/memory.h"

namespace pb {

namespace {
std::string always() { return {}; }
std::string needs_x86() {
#if defined(__x86_64__)
  return {};
#else
  return "non-temporal stores are implemented for x86-64 only";
#endif
}
}  // namespace

const std::vector<BwKernel>& bw_kernels() {
  static const std::vector<BwKernel> table = [] {
    std::vector<BwKernel> t;
    struct Backend {
      const char* name;
      BwFn fn;
      bool threaded;
      std::string (*status)();
    };
    for (const Backend& b : {Backend{"naive", bw_naive, false, always}, Backend{"eigen", bw_eigen, false, eigen_isa_status},
                             Backend{"openmp", bw_openmp, true, always}})
      for (BwOp op : {BwOp::read, BwOp::write, BwOp::copy, BwOp::triad})
        t.push_back({{"mem_bw", b.name, bwop_name(op), {}, b.status}, op, b.fn, b.threaded});
    for (BwOp op : {BwOp::write_nt, BwOp::copy_nt, BwOp::triad_nt})
      t.push_back({{"mem_bw", "openmp", bwop_name(op), {}, needs_x86}, op, bw_openmp, true});
    return t;
  }();
  return table;
}

}  // namespace pb
