#include "slowdown.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace pb::bench {

double injected_slowdown() {
  static const double f = [] {
    const char* v = std::getenv("PB_INJECT_SLOWDOWN");
    const double x = v ? std::atof(v) : 0.0;
    return x > 0.0 && x <= 1.0 ? x : 0.0;
  }();
  return f;
}

void run_gemm_kernel(const Kernel<GemmFn>& k, const GemmArgs& g) {
  k.run(g);
  if (const double f = injected_slowdown(); f > 0.0 && g.M > 0 && k.info.backend == "openmp") {
    GemmArgs extra = g;
    extra.M = std::max<index_t>(1, static_cast<index_t>(std::ceil(f * static_cast<double>(g.M))));
    k.run(extra);
  }
}

}  // namespace pb::bench
