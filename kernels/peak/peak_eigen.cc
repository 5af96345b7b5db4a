// eigen peak: Eigen's own packet type and pmadd — what Eigen code reaches with the ISA it was compiled for
// (SSE2 in a portable build: 4 lanes, multiply + add; AVX2+FMA with -march=native on such a CPU).
#include <Eigen/Core>

#include "peak_impl.h"

namespace {
template <class F>
struct EigenPacket {
  using V = typename Eigen::internal::packet_traits<F>::type;
  static constexpr int lanes = Eigen::internal::unpacket_traits<V>::size, chains = 12;
  static V set1(double x) { return Eigen::internal::pset1<V>(static_cast<F>(x)); }
  static V fma(V x, V b, V c) { return Eigen::internal::pmadd(x, b, c); }
  static double sum(V x) { return Eigen::internal::predux(x); }
};
}  // namespace

namespace pb {
PeakRun peak_eigen(Dtype dt, std::int64_t steps, int, double b, double c) {
  return dt == Dtype::f32 ? run_threads<EigenPacket<float>>(steps, 1, b, c)
                          : run_threads<EigenPacket<double>>(steps, 1, b, c);
}
}  // namespace pb
