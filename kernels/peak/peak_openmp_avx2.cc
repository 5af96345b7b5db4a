// AVX2+FMA peak chains (compiled with -mavx2 -mfma): 12 ymm chains + b + c = 14 of 16 registers; FMA latency
// 4-5 cycles x 2 ports needs 8-10 chains in flight.
#include <immintrin.h>

#include "peak_impl.h"

namespace {
struct F32 {
  using V = __m256;
  static constexpr int lanes = 8, chains = 12;
  static V set1(double x) { return _mm256_set1_ps(static_cast<float>(x)); }
  static V fma(V x, V b, V c) { return _mm256_fmadd_ps(x, b, c); }
  static double sum(V x) {
    alignas(32) float t[8];
    _mm256_store_ps(t, x);
    double s = 0;
    for (float v : t) s += v;
    return s;
  }
};
struct F64 {
  using V = __m256d;
  static constexpr int lanes = 4, chains = 12;
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V fma(V x, V b, V c) { return _mm256_fmadd_pd(x, b, c); }
  static double sum(V x) {
    alignas(32) double t[4];
    _mm256_store_pd(t, x);
    return t[0] + t[1] + t[2] + t[3];
  }
};
}  // namespace

namespace pb::detail {
PeakRun peak_openmp_avx2(Dtype dt, std::int64_t steps, int threads, double b, double c) {
  return dt == Dtype::f32 ? run_threads<F32>(steps, threads, b, c) : run_threads<F64>(steps, threads, b, c);
}
}  // namespace pb::detail
