// naive peak: independent scalar chains x = x*b + c, as a plain C loop computes them — a multiply and an add
// (ISO C++ does not contract them into an FMA), one lane. Compiled without vectorization (CMake).
// 12 chains: 3-4 cycles latency x 2 ports for each of mul and add needs at least 8 in flight.
#include "peak_impl.h"

namespace {
template <class F>
struct Scalar {
  using V = F;
  static constexpr int lanes = 1, chains = 12;
  static V set1(double x) { return static_cast<F>(x); }
  static V fma(V x, V b, V c) { return x * b + c; }
  static double sum(V x) { return x; }
};
}  // namespace

namespace pb {
PeakRun peak_naive(Dtype dt, std::int64_t steps, int, double b, double c) {
  return dt == Dtype::f32 ? run_threads<Scalar<float>>(steps, 1, b, c) : run_threads<Scalar<double>>(steps, 1, b, c);
}
}  // namespace pb
