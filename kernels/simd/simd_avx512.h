// 16 x float AVX-512F vector operations. Include only from translation units compiled with -mavx512f.
#pragma once
#include <immintrin.h>

namespace {
struct SimdAvx512 {
  using V = __m512;
  static constexpr int L = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_load_ps(p); }
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  // A partial vector: the first n (0 < n <= L) lanes, as a mask made once and used by many loads and stores;
  // nothing past them is read or written.
  using Mask = __mmask16;
  static Mask first_mask(int n) { return Mask((1u << n) - 1); }
  static V loadu_mask(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }  // other lanes 0
  static void storeu_mask(float* p, V v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static V broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static void keep_in_register(V& v) { asm("" : "+x"(v)); }  // no instruction (see its use in spmm_openmp_bsr.h)
};
}  // namespace
