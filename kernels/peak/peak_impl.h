// FMA-chain throughput kernel, templated on a vector traits type; included by the per-ISA and per-backend
// translation units (same ODR care as gemm_openmp_impl.h: everything here has internal linkage).
#pragma once
#include <omp.h>

#include <cstdint>

#include "prunebench/keep.h"
#include "prunebench/peak.h"

namespace {

// T: V (vector or scalar type), lanes, chains, set1(double), fma(x, b, c), sum(V).
template <class T>
double chains(std::int64_t steps, double b, double c) {
  using V = typename T::V;
  constexpr int C = T::chains;
  V acc[C];
#pragma GCC unroll 32
  for (int i = 0; i < C; ++i) acc[i] = T::set1(1.0 + 0.001 * i);  // distinct starts: nothing to merge
  const V vb = T::set1(b), vc = T::set1(c);
  for (std::int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 32
    for (int i = 0; i < C; ++i) {
      acc[i] = T::fma(acc[i], vb, vc);
      PB_KEEP(acc[i]);
    }
  }
  double total = 0.0;
#pragma GCC unroll 32
  for (int i = 0; i < C; ++i) total += T::sum(acc[i]);
  return total;
}

template <class T>
pb::PeakRun run_threads(std::int64_t steps, int threads, double b, double c) {
  double total = 0.0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  total += chains<T>(steps, b, c);
  return {2.0 * T::lanes * T::chains * static_cast<double>(steps) * threads, total, T::chains, T::lanes};
}

}  // namespace
