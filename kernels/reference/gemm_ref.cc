#include <cmath>
#include <limits>
#include <vector>

#include "prunebench/reference.h"

namespace pb::ref {

void gemm_rows(index_t N, index_t K, const float* A, index_t lda, const float* B, index_t ldb,
               std::span<const index_t> rows, double* out) {
  const index_t R = static_cast<index_t>(rows.size());
  // i-k-j order: the inner loop runs along a row of B, contiguous and free of reductions; independent per row.
#pragma omp parallel for schedule(dynamic, 4)
  for (index_t r = 0; r < R; ++r) {
    double* o = out + r * N;
    for (index_t j = 0; j < N; ++j) o[j] = 0.0;
    const float* a = A + rows[r] * lda;
    for (index_t k = 0; k < K; ++k) {
      const double av = a[k];
      const float* b = B + k * ldb;
      for (index_t j = 0; j < N; ++j) o[j] += av * static_cast<double>(b[j]);
    }
  }
}

double max_rel_err(const float* out, index_t ldo, const double* ref, index_t R, index_t N) {
  double num = 0.0, den = 0.0;
  for (index_t i = 0; i < R; ++i) {
    for (index_t j = 0; j < N; ++j) {
      const double o = out[i * ldo + j];
      if (!std::isfinite(o)) return std::numeric_limits<double>::infinity();
      num = std::max(num, std::abs(o - ref[i * N + j]));
      den = std::max(den, std::abs(ref[i * N + j]));
    }
  }
  return den > 0.0 ? num / den : num;
}

double dot_tolerance(index_t K) {
  const double eps = std::numeric_limits<float>::epsilon();
  return std::max(1e-5, 2.0 * eps * static_cast<double>(K));
}

}  // namespace pb::ref
