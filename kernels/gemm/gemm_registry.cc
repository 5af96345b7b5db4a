// The GEMM rows of the registry. Adding a backend here is what gets it tested (tests/test_gemm.cc) and
// benchmarked (bench/gemm.cc).
#include "prunebench/gemm.h"
#include "prunebench/mkl.h"
#include "prunebench/prune.h"

namespace pb {

namespace {
std::string always() { return {}; }
std::string openblas_status() {
#ifdef PB_HAVE_OPENBLAS
  return {};
#else
  return "OpenBLAS was not found at configure time (install libopenblas-dev)";
#endif
}
}  // namespace

const std::vector<Kernel<GemmFn>>& gemm_kernels() {
  static const std::vector<Kernel<GemmFn>> table = {
      {{"gemm", "naive", "", {}, always, pattern_is_dense, true}, gemm_naive},
      {{"gemm", "eigen", "", {}, eigen_isa_status, pattern_is_dense, true}, gemm_eigen},
      {{"gemm", "openmp", "", {}, always, pattern_is_dense, true}, gemm_openmp},
      {{"gemm", "openblas", "", {}, openblas_status, pattern_is_dense, true, true}, gemm_openblas},
      {{"gemm", "mkl", "", {}, mkl_unavailable, pattern_is_dense, true, true}, gemm_mkl},
  };
  return table;
}

const Kernel<GemmFn>* find_gemm_kernel(const std::string& backend) {
  for (const auto& k : gemm_kernels())
    if (k.info.backend == backend) return &k;
  return nullptr;
}

}  // namespace pb
