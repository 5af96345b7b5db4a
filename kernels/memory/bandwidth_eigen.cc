// eigen bandwidth: Eigen array expressions on mapped buffers (vectorized with the compile ISA, one thread:
// Eigen does not parallelize coefficient-wise expressions).
#include <Eigen/Core>

#include "prunebench/memory.h"

namespace pb {

namespace {
using Arr = Eigen::Map<Eigen::ArrayXd, Eigen::Aligned64>;

__attribute__((noinline)) double pass(BwOp op, const BwArgs& g) {
  const auto n = static_cast<Eigen::Index>(g.n);
  Arr a(g.a, n), b(g.b, n), c(g.c, n);
  switch (op) {
    case BwOp::read: return a.sum();
    case BwOp::write: a.setConstant(g.s); return g.a[g.n / 2];
    case BwOp::copy: c = a; return g.c[g.n / 2];
    case BwOp::triad: a = b + g.s * c; return g.a[g.n / 2];
    default: return 0.0;
  }
}
}  // namespace

double bw_eigen(BwOp op, const BwArgs& g) {
  double r = 0.0;
  for (std::int64_t p = 0; p < g.passes; ++p) r += pass(op, g);
  return r;
}

}  // namespace pb
