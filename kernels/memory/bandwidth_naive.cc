// naive bandwidth: plain scalar loops, compiled without vectorization (CMake), one thread. The read kernel is a
// single running sum, so in cache it is bound by add latency, not by loads — the scalar-loop lesson.
#include "prunebench/memory.h"

namespace pb {

namespace {
__attribute__((noinline)) double pass(BwOp op, double* a, double* b, double* c, std::size_t n, double s) {
  switch (op) {
    case BwOp::read: {
      double sum = 0.0;
      for (std::size_t i = 0; i < n; ++i) sum += a[i];
      return sum;
    }
    case BwOp::write:
      for (std::size_t i = 0; i < n; ++i) a[i] = s;
      return a[n / 2];
    case BwOp::copy:
      for (std::size_t i = 0; i < n; ++i) c[i] = a[i];
      return c[n / 2];
    case BwOp::triad:
      for (std::size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
      return a[n / 2];
    default:
      return 0.0;  // non-temporal variants are openmp-only (see the registry)
  }
}
}  // namespace

double bw_naive(BwOp op, const BwArgs& g) {
  double r = 0.0;
  for (std::int64_t p = 0; p < g.passes; ++p) r += pass(op, g.a, g.b, g.c, g.n, g.s);
  return r;
}

}  // namespace pb
