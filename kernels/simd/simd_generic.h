// 4 x float portable vector operations (GCC/Clang vector extensions; multiply and add, no FMA assumed).
#pragma once
#include <cstring>

namespace {
struct SimdGeneric {
  typedef float V __attribute__((vector_size(16)));
  static constexpr int L = 4;
  static V zero() { return V{0.0f, 0.0f, 0.0f, 0.0f}; }
  static V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static V loadu(const float* p) { return load(p); }
  static void storeu(float* p, V v) { std::memcpy(p, &v, sizeof v); }
  // A partial vector: the first n (0 < n <= L) lanes; nothing past them is read or written. Here the mask is
  // the lane count.
  using Mask = int;
  static Mask first_mask(int n) { return n; }
  static V loadu_mask(const float* p, Mask n) {  // other lanes 0
    V v = zero();
    std::memcpy(&v, p, sizeof(float) * n);
    return v;
  }
  static void storeu_mask(float* p, V v, Mask n) { std::memcpy(p, &v, sizeof(float) * n); }
  static V broadcast(const float* p) { return V{*p, *p, *p, *p}; }
  static V set1(float x) { return V{x, x, x, x}; }
  static V fmadd(V a, V b, V c) { return a * b + c; }
  static V add(V a, V b) { return a + b; }
  static void keep_in_register([[maybe_unused]] V& v) {  // no instruction (see its use in spmm_openmp_bsr.h)
#if defined(__x86_64__) || defined(__i386__)
    asm("" : "+x"(v));
#endif
  }
};
}  // namespace
