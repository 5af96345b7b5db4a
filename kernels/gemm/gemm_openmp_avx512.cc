// AVX-512F instance of the blocked GEMM; compiled with -mavx512f -mfma (see kernels/CMakeLists.txt).
// 12x32 tile: 24 zmm accumulators + 2 B vectors + 1 broadcast = 27 of 32 registers; 24 independent chains cover
// 2 FMA ports x 4 cycles with room to spare. Same template as the AVX2 instance, so the tests that run the AVX2
// path on machines without AVX-512 exercise the same packing, blocking and edge logic.
#include <immintrin.h>

#include "gemm_openmp_impl.h"

namespace {
struct Avx512 {
  using V = __m512;
  static constexpr int L = 16, MR = 12, NV = 2, NR = NV * L;
  static constexpr index_t MC = 240, KC = 256, NC = 3072;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_load_ps(p); }
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
};
}  // namespace

namespace pb::detail {
void gemm_openmp_avx512(const GemmArgs& g) { gemm_blocked<Avx512>(g); }
}  // namespace pb::detail
