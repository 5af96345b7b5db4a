// 8 x float AVX2+FMA vector operations. Include only from translation units compiled with -mavx2 -mfma, inside
// an anonymous namespace user (see kernels/gemm/gemm_openmp_impl.h on why ISA code keeps internal linkage).
#pragma once
#include <immintrin.h>

namespace {
struct SimdAvx2 {
  using V = __m256;
  static constexpr int L = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_load_ps(p); }
  static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  // A partial vector: the first n (0 < n <= L) lanes, as a mask made once and used by many loads and stores;
  // nothing past them is read or written.
  using Mask = __m256i;
  static Mask first_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V loadu_mask(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }  // other lanes 0
  static void storeu_mask(float* p, V v, Mask m) { _mm256_maskstore_ps(p, m, v); }
  static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static void keep_in_register(V& v) { asm("" : "+x"(v)); }  // no instruction (see its use in spmm_openmp_bsr.h)
};
}  // namespace
