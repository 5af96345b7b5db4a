// openmp SpMM: dispatch to the widest ISA instance this CPU runs (same rule as gemm_openmp), and the work
// balancing shared by all of them.
#include <algorithm>

#include "prunebench/cpu.h"
#include "prunebench/spmm.h"

namespace pb {
namespace detail {
#define PB_DECLARE(isa)                               \
  void spmm_openmp_csr_##isa(const SpmmArgs& g);      \
  void spmm_openmp_bsr_##isa(const SpmmArgs& g);      \
  void spmm_openmp_nm_##isa(const SpmmArgs& g);
PB_DECLARE(avx512)
PB_DECLARE(avx2)
PB_DECLARE(generic)
#undef PB_DECLARE
}  // namespace detail

namespace {
enum class Isa { avx512, avx2, generic };
Isa isa() {
  static const Isa i = cpu::has_avx512f() ? Isa::avx512 : cpu::has_avx2_fma() ? Isa::avx2 : Isa::generic;
  return i;
}
}  // namespace

void spmm_openmp_csr(const SpmmArgs& g) {
  switch (isa()) {
    case Isa::avx512: return detail::spmm_openmp_csr_avx512(g);
    case Isa::avx2: return detail::spmm_openmp_csr_avx2(g);
    default: return detail::spmm_openmp_csr_generic(g);
  }
}

void spmm_openmp_bsr(const SpmmArgs& g) {
  switch (isa()) {
    case Isa::avx512: return detail::spmm_openmp_bsr_avx512(g);
    case Isa::avx2: return detail::spmm_openmp_bsr_avx2(g);
    default: return detail::spmm_openmp_bsr_generic(g);
  }
}

void spmm_openmp_nm(const SpmmArgs& g) {
  switch (isa()) {
    case Isa::avx512: return detail::spmm_openmp_nm_avx512(g);
    case Isa::avx2: return detail::spmm_openmp_nm_avx2(g);
    default: return detail::spmm_openmp_nm_generic(g);
  }
}

std::vector<std::pair<std::string, Kernel<SpmmFn>>> spmm_openmp_isa_variants() {
  std::vector<std::pair<std::string, Kernel<SpmmFn>>> v;
  auto add = [&](const char* isa, SpmmFn csr, SpmmFn bsr, SpmmFn nm) {
    for (const auto& k : spmm_kernels()) {
      if (k.info.backend != "openmp") continue;
      const SpmmFn fn = k.info.variant == "csr" ? csr : k.info.variant == "bsr" ? bsr : nm;
      v.push_back({isa, {k.info, fn}});
    }
  };
  if (cpu::has_avx512f())
    add("avx512", detail::spmm_openmp_csr_avx512, detail::spmm_openmp_bsr_avx512, detail::spmm_openmp_nm_avx512);
  if (cpu::has_avx2_fma())
    add("avx2", detail::spmm_openmp_csr_avx2, detail::spmm_openmp_bsr_avx2, detail::spmm_openmp_nm_avx2);
  add("generic", detail::spmm_openmp_csr_generic, detail::spmm_openmp_bsr_generic, detail::spmm_openmp_nm_generic);
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
