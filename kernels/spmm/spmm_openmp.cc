// openmp SpMM: the widest ISA instance of the kernel table (spmm_openmp_impl.h) this CPU runs (same rule as
// gemm_openmp), and the work balancing shared by all of them.
#include <algorithm>

#include "prunebench/cpu.h"
#include "prunebench/spmm.h"

namespace pb {
namespace detail {
std::vector<Kernel<SpmmFn>> spmm_openmp_table_avx512();
std::vector<Kernel<SpmmFn>> spmm_openmp_table_avx2();
std::vector<Kernel<SpmmFn>> spmm_openmp_table_generic();
}  // namespace detail

namespace {
// Every ISA instance of the openmp table this CPU runs, widest first.
const std::vector<std::pair<std::string, std::vector<Kernel<SpmmFn>>>>& isa_tables() {
  static const auto tables = [] {
    std::vector<std::pair<std::string, std::vector<Kernel<SpmmFn>>>> t;
    if (cpu::has_avx512f()) t.emplace_back("avx512", detail::spmm_openmp_table_avx512());
    if (cpu::has_avx2_fma()) t.emplace_back("avx2", detail::spmm_openmp_table_avx2());
    t.emplace_back("generic", detail::spmm_openmp_table_generic());
    return t;
  }();
  return tables;
}

SpmmFn native(const std::string& variant) {
  for (const auto& k : spmm_openmp_kernels())
    if (k.info.variant == variant) return k.run;
  return nullptr;
}
}  // namespace

const std::vector<Kernel<SpmmFn>>& spmm_openmp_kernels() { return isa_tables().front().second; }

// The convolution's im2col route calls these directly.
void spmm_openmp_bsr(const SpmmArgs& g) {
  static const SpmmFn fn = native("bsr");
  fn(g);
}
void spmm_openmp_nm(const SpmmArgs& g) {
  static const SpmmFn fn = native("nm");
  fn(g);
}
void spmm_openmp_csr_l1(const SpmmArgs& g) {
  static const SpmmFn fn = native("csr_l1");
  fn(g);
}

std::vector<std::pair<std::string, Kernel<SpmmFn>>> spmm_openmp_isa_variants() {
  std::vector<std::pair<std::string, Kernel<SpmmFn>>> v;
  for (const auto& [isa, table] : isa_tables())
    for (const auto& k : table) v.push_back({isa, k});
  return v;
}

std::vector<index_t> balance_rows(const std::vector<std::int32_t>& rowptr, int parts) {
  const index_t rows = static_cast<index_t>(rowptr.size()) - 1;
  parts = std::max(parts, 1);
  // Work of rows [0, i): non-zeros plus one unit per row (each row is written even when empty).
  auto work = [&](index_t i) { return static_cast<double>(rowptr[i]) + static_cast<double>(i); };
  const double total = work(rows);
  std::vector<index_t> b(static_cast<std::size_t>(parts) + 1, rows);
  b[0] = 0;
  index_t lo = 0;
  for (int t = 1; t < parts; ++t) {
    const double target = total * t / parts;
    index_t a = lo, z = rows;  // first row boundary whose prefix work reaches the target
    while (a < z) {
      const index_t mid = (a + z) / 2;
      if (work(mid) < target) a = mid + 1; else z = mid;
    }
    b[t] = lo = a;
  }
  return b;
}

}  // namespace pb
