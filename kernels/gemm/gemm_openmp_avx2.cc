// AVX2+FMA instance of the blocked GEMM; compiled with -mavx2 -mfma (see kernels/CMakeLists.txt).
// 6x16 tile: 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of 16 registers; 12 independent FMA chains
// cover 2 FMA ports x 4-5 cycles latency (Haswell through Zen 4).
#include <immintrin.h>

#include "gemm_openmp_impl.h"

namespace {
struct Avx2 {
  using V = __m256;
  static constexpr int L = 8, MR = 6, NV = 2, NR = NV * L;
  static constexpr index_t MC = 144, KC = 256, NC = 4080;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_load_ps(p); }
  static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
};
}  // namespace

namespace pb::detail {
void gemm_openmp_avx2(const GemmArgs& g) { gemm_blocked<Avx2>(g); }
}  // namespace pb::detail
