// openmp: our own GEMM. Picks the widest micro-kernel this CPU runs, once, at first use.
// PB_GEMM_ISA=avx512|avx2|generic overrides the choice (tests use it to cover every path the CPU can run).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

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

namespace {

#if defined(__x86_64__)
#define PB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PB_CLONES
#endif

PB_CLONES float dot(const float* __restrict a, const float* __restrict b, index_t K) {
  float acc[16] = {};  // 16 partial sums: independent chains, vectorized (reassociation allowed by omp simd)
  index_t k = 0;
  for (; k + 16 <= K; k += 16)
#pragma omp simd
    for (int j = 0; j < 16; ++j) acc[j] += a[k + j] * b[k + j];
  float s = 0.0f;
  for (; k < K; ++k) s += a[k] * b[k];
  for (float v : acc) s += v;
  return s;
}

// Very small N (matrix-vector-like products): the packed kernel would pad B to a full NR-wide panel and waste
// most of its FMAs, so each output is a dot product of a row of A with a column of B (columns copied once into
// contiguous rows).
void gemm_small_n(const GemmArgs& g) {
  std::vector<float> bt(static_cast<std::size_t>(g.N * g.K));
  for (index_t k = 0; k < g.K; ++k)
    for (index_t j = 0; j < g.N; ++j) bt[j * g.K + k] = g.B[k * g.ldb + j];
#pragma omp parallel for num_threads(g.threads) schedule(static)
  for (index_t i = 0; i < g.M; ++i)
    for (index_t j = 0; j < g.N; ++j) g.C[i * g.ldc + j] = dot(g.A + i * g.lda, bt.data() + j * g.K, g.K);
}

}  // namespace

void gemm_openmp(const GemmArgs& g) {
  if (g.N > 0 && g.N <= 4 && g.K >= 64 && g.M > 0) {
    gemm_small_n(g);
  } else {
    chosen().fn(g);
  }
}
std::string gemm_openmp_microkernel() { return chosen().name; }

std::vector<std::pair<std::string, GemmFn>> gemm_openmp_isa_variants() {
  return cpu::isa_instances<GemmFn>(detail::gemm_openmp_avx512, detail::gemm_openmp_avx2, detail::gemm_openmp_generic);
}

}  // namespace pb
