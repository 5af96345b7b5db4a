// 16 x float vectors in software: the AVX-512 instances' logic on a CPU without AVX-512, for the tests only.
//
// Our kernels choose their tiles, slices, panel sizes and register budgets from the vector's width (L, sizeof(V)),
// so the AVX-512 instances run code paths the AVX2 and generic ones never take (2 x 14 conv tiles, 8 x 3 pointwise
// tiles, csr_l1's 4-vector tiles, 16-lane masks). Most CI and development machines here have no AVX-512, so
// without this those paths are only ever checked where they are timed. The same templates instantiated with this
// struct (translation units *_emu512.cc, compiled like the AVX2 ones) run them here against the float64 oracle.
// Only the intrinsics themselves are not exercised: SimdAvx512's one-line wrappers.
//
// Never dispatched to or timed: GCC lowers each operation to two AVX2 ones (or four SSE ones), and the tiles sized
// for 32 registers spill. Where AVX-512 faults, so does this: load() traps on an address that is not 64-byte aligned
// (_mm512_load_ps would), and the masked forms touch only the lanes in the mask (as AVX-512's masked moves do).
#pragma once
#include <cstdint>
#include <cstring>

namespace {
struct SimdEmu512 {
  typedef float V __attribute__((vector_size(64)));
  static constexpr int L = 16;
  static V zero() { return V{}; }
  static V load(const float* p) {
    if (reinterpret_cast<std::uintptr_t>(p) % 64 != 0) __builtin_trap();
    return loadu(p);
  }
  static V loadu(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void storeu(float* p, V v) { std::memcpy(p, &v, sizeof v); }
  using Mask = std::uint16_t;  // lane i is in the mask where bit i is set, as AVX-512's __mmask16
  static Mask first_mask(int n) { return Mask((1u << n) - 1); }
  static V loadu_mask(const float* p, Mask m) {  // other lanes 0
    V v{};
    for (int i = 0; i < L; ++i)
      if (m >> i & 1) v[i] = p[i];
    return v;
  }
  static void storeu_mask(float* p, V v, Mask m) {
    for (int i = 0; i < L; ++i)
      if (m >> i & 1) p[i] = v[i];
  }
  static V broadcast(const float* p) { return set1(*p); }
  static V set1(float x) { return V{} + x; }
  static V fmadd(V a, V b, V c) { return a * b + c; }
  static V add(V a, V b) { return a + b; }
  static void keep_in_register(V&) {}  // 64 bytes fit no AVX2 register: nothing to ask of the compiler
};
}  // namespace
