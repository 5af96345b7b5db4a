#include <limits>
#include <stdexcept>

#include "prunebench/sparse.h"

namespace pb {

namespace {
void check_int32(index_t n, const char* what) {
  if (n >= std::numeric_limits<std::int32_t>::max())
    throw std::invalid_argument(std::string(what) + " exceeds 2^31-1 (32-bit sparse indices)");
}
}  // namespace

Csr csr_from_dense(std::span<const float> w, index_t M, index_t K) {
  check_int32(K, "column count");
  Csr a;
  a.rows = M, a.cols = K;
  a.rowptr.reserve(static_cast<std::size_t>(M + 1));
  a.rowptr.push_back(0);
  for (index_t i = 0; i < M; ++i) {
    for (index_t k = 0; k < K; ++k) {
      if (w[i * K + k] != 0.0f) {
        a.colidx.push_back(static_cast<std::int32_t>(k));
        a.values.push_back(w[i * K + k]);
      }
    }
    check_int32(static_cast<index_t>(a.values.size()), "nnz");
    a.rowptr.push_back(static_cast<std::int32_t>(a.values.size()));
  }
  return a;
}

std::vector<float> dense_from_csr(const Csr& a) {
  std::vector<float> w(static_cast<std::size_t>(a.rows * a.cols), 0.0f);
  for (index_t i = 0; i < a.rows; ++i)
    for (std::int32_t p = a.rowptr[i]; p < a.rowptr[i + 1]; ++p) w[i * a.cols + a.colidx[p]] = a.values[p];
  return w;
}

Bsr bsr_from_dense(std::span<const float> w, index_t M, index_t K, int br, int bc) {
  if (br < 1 || bc < 1) throw std::invalid_argument("block shape must be at least 1x1");
  Bsr a;
  a.rows = M, a.cols = K, a.br = br, a.bc = bc;
  const index_t bm = (M + br - 1) / br, bk = (K + bc - 1) / bc;
  check_int32(bk, "block column count");
  a.rowptr.push_back(0);
  for (index_t I = 0; I < bm; ++I) {
    for (index_t J = 0; J < bk; ++J) {
      bool any = false;
      for (index_t i = I * br; i < std::min<index_t>(M, (I + 1) * br) && !any; ++i)
        for (index_t k = J * bc; k < std::min<index_t>(K, (J + 1) * bc); ++k) any |= w[i * K + k] != 0.0f;
      if (!any) continue;
      a.colidx.push_back(static_cast<std::int32_t>(J));
      for (index_t i = 0; i < br; ++i)
        for (index_t k = 0; k < bc; ++k) {
          const index_t r = I * br + i, c = J * bc + k;
          a.values.push_back(r < M && c < K ? w[r * K + c] : 0.0f);
        }
    }
    check_int32(a.blocks(), "block count");
    a.rowptr.push_back(static_cast<std::int32_t>(a.blocks()));
  }
  return a;
}

std::vector<float> dense_from_bsr(const Bsr& a) {
  std::vector<float> w(static_cast<std::size_t>(a.rows * a.cols), 0.0f);
  const index_t bm = static_cast<index_t>(a.rowptr.size()) - 1;
  for (index_t I = 0; I < bm; ++I)
    for (std::int32_t p = a.rowptr[I]; p < a.rowptr[I + 1]; ++p)
      for (index_t i = 0; i < a.br; ++i)
        for (index_t k = 0; k < a.bc; ++k) {
          const index_t r = I * a.br + i, c = static_cast<index_t>(a.colidx[p]) * a.bc + k;
          if (r < a.rows && c < a.cols) w[r * a.cols + c] = a.values[(p * a.br + i) * a.bc + k];
        }
  return w;
}

NmMatrix nm_from_dense(std::span<const float> w, index_t M, index_t K, int n, int m) {
  if (m < 1 || m > 256 || n < 1 || n > m) throw std::invalid_argument("N:M needs 1 <= N <= M <= 256");
  NmMatrix a;
  a.rows = M, a.cols = K, a.n = n, a.m = m;
  a.groups = (K + m - 1) / m;
  a.values.assign(static_cast<std::size_t>(M * a.groups * n), 0.0f);
  a.index.assign(a.values.size(), 0);
  for (index_t i = 0; i < M; ++i)
    for (index_t g = 0; g < a.groups; ++g) {
      int t = 0;
      for (index_t k = g * m; k < std::min<index_t>(K, (g + 1) * m); ++k) {
        if (w[i * K + k] == 0.0f) continue;
        if (t == n)
          throw std::invalid_argument("row " + std::to_string(i) + ", group " + std::to_string(g) + " has more than " +
                                      std::to_string(n) + " non-zeros: not an N:M pattern");
        const std::size_t slot = static_cast<std::size_t>((i * a.groups + g) * n + t++);
        a.values[slot] = w[i * K + k];
        a.index[slot] = static_cast<std::uint8_t>(k - g * m);
      }
      // Padding slots keep value 0 and index 0: harmless in the product, and column g*m always exists.
    }
  return a;
}

std::vector<float> dense_from_nm(const NmMatrix& a) {
  std::vector<float> w(static_cast<std::size_t>(a.rows * a.cols), 0.0f);
  for (index_t i = 0; i < a.rows; ++i)
    for (index_t g = 0; g < a.groups; ++g)
      for (int t = 0; t < a.n; ++t) {
        const std::size_t slot = static_cast<std::size_t>((i * a.groups + g) * a.n + t);
        if (a.values[slot] != 0.0f) w[i * a.cols + g * a.m + a.index[slot]] = a.values[slot];
      }
  return w;
}

}  // namespace pb
