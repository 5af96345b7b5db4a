// Portable instance of the blocked GEMM (any CPU GCC/Clang targets): 128-bit vector extensions, separate
// multiply and add (no FMA is assumed). The fallback when neither AVX2 nor AVX-512 is present.
#include "gemm_openmp_impl.h"

namespace {
struct Generic {
  typedef float V __attribute__((vector_size(16)));
  static constexpr int L = 4, MR = 4, NV = 2, NR = NV * L;
  static constexpr index_t MC = 128, KC = 256, NC = 4096;
  static V zero() { return V{0.0f, 0.0f, 0.0f, 0.0f}; }
  static V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static V loadu(const float* p) { return load(p); }
  static void storeu(float* p, V v) { std::memcpy(p, &v, sizeof v); }
  static V broadcast(const float* p) { return V{*p, *p, *p, *p}; }
  static V fmadd(V a, V b, V c) { return a * b + c; }
  static V add(V a, V b) { return a + b; }
};
}  // namespace

namespace pb::detail {
void gemm_openmp_generic(const GemmArgs& g) { gemm_blocked<Generic>(g); }
}  // namespace pb::detail
