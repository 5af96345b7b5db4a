// The gate study's injected slowdown (scripts/gate-study, docs/regression-gate.md): with PB_INJECT_SLOWDOWN=F
// (0 < F <= 1) every gemm/openmp call made by a benchmark row also recomputes the first ceil(F*M) rows of C, a
// known fraction of real extra work whose results are the same. It lives here, in the harness, so the kernels
// carry no test hook; the fraction is recorded in the JSON context.
#pragma once
#include "prunebench/gemm.h"

namespace pb::bench {

double injected_slowdown();  // 0 unless PB_INJECT_SLOWDOWN asks

// k.run(g), plus the injected work when k is the kernel the study slows (gemm/openmp).
void run_gemm_kernel(const Kernel<GemmFn>& k, const GemmArgs& g);

}  // namespace pb::bench
