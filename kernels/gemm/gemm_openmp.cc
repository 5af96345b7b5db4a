// openmp: our own GEMM. Picks the widest micro-kernel this CPU runs, once, at first use.
// PB_GEMM_ISA=avx512|avx2|generic overrides the choice (tests use it to cover every path the CPU can run).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "prunebench/cpu.h"
#include "prunebench/gemm.h"

namespace pb {
namespace detail {
void gemm_openmp_avx512(const GemmArgs& g);
void gemm_openmp_avx2(const GemmArgs& g);
void gemm_openmp_generic(const GemmArgs& g);
}  // namespace detail

namespace {
struct Choice {
  GemmFn fn;
  const char* name;
};

Choice choose() {
  const char* env = std::getenv("PB_GEMM_ISA");
  const std::string want = env ? env : "";
  if ((want.empty() || want == "avx512") && cpu::has_avx512f()) return {detail::gemm_openmp_avx512, "avx512 12x32"};
  if ((want.empty() || want == "avx512" || want == "avx2") && cpu::has_avx2_fma())
    return {detail::gemm_openmp_avx2, "avx2 6x16"};
  return {detail::gemm_openmp_generic, "generic 4x8"};
}

const Choice& chosen() {
  static const Choice c = choose();
  return c;
}
}  // namespace

// PB_INJECT_SLOWDOWN=F (e.g. 0.10) makes every call also recompute the first ceil(F*M) rows of C: a known
// fraction of real extra work, used to measure how often the regression gate catches a slowdown of that size
// (docs/regression-gate.md). The recomputed rows get the same values, so results stay correct.
double injected_slowdown() {
  static const double f = [] {
    const char* v = std::getenv("PB_INJECT_SLOWDOWN");
    const double x = v ? std::atof(v) : 0.0;
    return x > 0.0 && x <= 1.0 ? x : 0.0;
  }();
  return f;
}

void gemm_openmp(const GemmArgs& g) {
  chosen().fn(g);
  if (const double f = injected_slowdown(); f > 0.0 && g.M > 0) {
    GemmArgs extra = g;
    extra.M = std::max<index_t>(1, static_cast<index_t>(std::ceil(f * static_cast<double>(g.M))));
    chosen().fn(extra);
  }
}
std::string gemm_openmp_microkernel() { return chosen().name; }

std::vector<std::pair<std::string, GemmFn>> gemm_openmp_isa_variants() {
  std::vector<std::pair<std::string, GemmFn>> v;
  if (cpu::has_avx512f()) v.emplace_back("avx512", detail::gemm_openmp_avx512);
  if (cpu::has_avx2_fma()) v.emplace_back("avx2", detail::gemm_openmp_avx2);
  v.emplace_back("generic", detail::gemm_openmp_generic);
  return v;
}

}  // namespace pb
