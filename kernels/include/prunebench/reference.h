// float64 oracles: inputs in float32, products and sums in double. Tests compare whole outputs; benchmarks
// compare a sample of rows before timing (see bench/gemm.cc for why a sample is enough).
#pragma once
#include <span>

#include "prunebench/conv.h"
#include "prunebench/types.h"

namespace pb::ref {

// out[r * N + j] = sum_k A[rows[r], k] * B[k, j] in double, for each requested row.
void gemm_rows(index_t N, index_t K, const float* A, index_t lda, const float* B, index_t ldb,
               std::span<const index_t> rows, double* out);

// ||out - ref||_inf / ||ref||_inf over an R x N block (out with row stride ldo). When ref is all zero the
// absolute error is returned. NaN or inf anywhere in out gives +inf, so it can never pass a tolerance.
double max_rel_err(const float* out, index_t ldo, const double* ref, index_t R, index_t N);

// Tolerance for a float32 dot product of length K against the float64 oracle, relative to ||ref||_inf.
// Rounding error grows at worst linearly in K (summation order differs between backends); a wrong kernel is
// off by O(1), many orders above this.
double dot_tolerance(index_t K);

}  // namespace pb::ref

namespace pb::ref {
// Direct convolution in double for output channels [k0, k1) of every image: out is N x (k1-k0) x OH x OW.
void conv(const ConvShape& s, const float* x, const float* w, index_t k0, index_t k1, double* out);
}  // namespace pb::ref
