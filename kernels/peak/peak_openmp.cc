// openmp peak: the widest SIMD FMA this CPU has, on every requested thread. Portable fallback: 128-bit vector
// extensions with multiply + add.
#include "peak_impl.h"
#include "prunebench/cpu.h"

namespace pb::detail {
PeakRun peak_openmp_avx512(Dtype, std::int64_t, int, double, double);
PeakRun peak_openmp_avx2(Dtype, std::int64_t, int, double, double);
}  // namespace pb::detail

namespace {
template <class F>
struct Generic {
  typedef F V __attribute__((vector_size(16)));
  static constexpr int lanes = 16 / sizeof(F), chains = 12;
  static V set1(double x) { return V{} + static_cast<F>(x); }
  static V fma(V x, V b, V c) { return x * b + c; }
  static double sum(V x) {
    double s = 0;
    for (int i = 0; i < lanes; ++i) s += x[i];
    return s;
  }
};
}  // namespace

namespace pb {

std::string peak_openmp_isa() {
  if (cpu::has_avx512f()) return "avx512";
  if (cpu::has_avx2_fma()) return "avx2";
  return "generic";
}

PeakRun peak_openmp(Dtype dt, std::int64_t steps, int threads, double b, double c) {
  if (cpu::has_avx512f()) return detail::peak_openmp_avx512(dt, steps, threads, b, c);
  if (cpu::has_avx2_fma()) return detail::peak_openmp_avx2(dt, steps, threads, b, c);
  return dt == Dtype::f32 ? run_threads<Generic<float>>(steps, threads, b, c)
                          : run_threads<Generic<double>>(steps, threads, b, c);
}

}  // namespace pb
