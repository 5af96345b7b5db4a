// AVX-512F peak chains (compiled with -mavx512f): 16 zmm chains of 32 registers; FMA latency 4 cycles x 2 ports
// needs 8 in flight, 16 leaves margin for cores with longer latency.
#include <immintrin.h>

#include "peak_impl.h"

namespace {
struct F32 {
  using V = __m512;
  static constexpr int lanes = 16, chains = 16;
  static V set1(double x) { return _mm512_set1_ps(static_cast<float>(x)); }
  static V fma(V x, V b, V c) { return _mm512_fmadd_ps(x, b, c); }
  static double sum(V x) {
    alignas(64) float t[16];
    _mm512_store_ps(t, x);
    double s = 0;
    for (float v : t) s += v;
    return s;
  }
};
struct F64 {
  using V = __m512d;
  static constexpr int lanes = 8, chains = 16;
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V fma(V x, V b, V c) { return _mm512_fmadd_pd(x, b, c); }
  static double sum(V x) {
    alignas(64) double t[8];
    _mm512_store_pd(t, x);
    double s = 0;
    for (double v : t) s += v;
    return s;
  }
};
}  // namespace

namespace pb::detail {
PeakRun peak_openmp_avx512(Dtype dt, std::int64_t steps, int threads, double b, double c) {
  return dt == Dtype::f32 ? run_threads<F32>(steps, threads, b, c) : run_threads<F64>(steps, threads, b, c);
}
}  // namespace pb::detail
