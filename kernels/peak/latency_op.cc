// Instruction latency: one dependent chain, so each operation waits for the previous result. Compiled with
// -mfma on x86 so fma is one vfmadd instruction (the registry marks it unavailable on CPUs without FMA).
#include <cmath>

#include "prunebench/keep.h"
#include "prunebench/peak.h"

namespace pb {

namespace {
template <class F, LatOp op>
F chain(std::int64_t steps, F x, F b, F c) {
  // Unrolled by 8 so loop control is never the critical path for 1-cycle operations.
  for (std::int64_t s = 0; s < steps; s += 8) {
#pragma GCC unroll 8
    for (int u = 0; u < 8; ++u) {
      if constexpr (op == LatOp::fma) x = std::fma(x, b, c);
      if constexpr (op == LatOp::add) x = x + c;
      if constexpr (op == LatOp::mul) x = x * b;
      if constexpr (op == LatOp::div) x = x / b;
      PB_KEEP(x);
    }
  }
  return x;
}

template <class F>
double dispatch(LatOp op, std::int64_t steps, double x0, double b, double c) {
  const F x = static_cast<F>(x0), fb = static_cast<F>(b), fc = static_cast<F>(c);
  switch (op) {
    case LatOp::fma: return chain<F, LatOp::fma>(steps, x, fb, fc);
    case LatOp::add: return chain<F, LatOp::add>(steps, x, fb, fc);
    case LatOp::mul: return chain<F, LatOp::mul>(steps, x, fb, fc);
    default: return chain<F, LatOp::div>(steps, x, fb, fc);
  }
}
}  // namespace

// steps is rounded up to a multiple of 8.
double latency_chain(LatOp op, Dtype dt, std::int64_t steps, double x0, double b, double c) {
  return dt == Dtype::f32 ? dispatch<float>(op, steps, x0, b, c) : dispatch<double>(op, steps, x0, b, c);
}

std::int64_t latency_chain_i64(std::int64_t steps, std::int64_t x, std::int64_t c) {
  for (std::int64_t s = 0; s < steps; s += 8) {
#pragma GCC unroll 8
    for (int u = 0; u < 8; ++u) {
      x += c;
      PB_KEEP_INT(x);
    }
  }
  return x;
}

}  // namespace pb
