// Sparse formats built from masked dense weights (M x K, row-major), and back.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "prunebench/types.h"

namespace pb {

// Compressed sparse rows. 32-bit offsets and indices: half the index traffic of 64-bit ones, and Eigen can map
// them directly; loaders and converters refuse matrices with 2^31 or more nonzeros.
struct Csr {
  index_t rows = 0, cols = 0;
  std::vector<std::int32_t> rowptr;  // rows + 1
  std::vector<std::int32_t> colidx;  // nnz
  std::vector<float> values;         // nnz
  index_t nnz() const { return static_cast<index_t>(values.size()); }
};

// Block sparse rows: br x bc dense blocks (row-major inside a block); a block is stored when any of its weights
// is non-zero. Edge blocks are zero-padded to the full shape.
struct Bsr {
  index_t rows = 0, cols = 0;
  int br = 1, bc = 1;
  std::vector<std::int32_t> rowptr;  // block rows + 1
  std::vector<std::int32_t> colidx;  // block column of each block
  std::vector<float> values;         // blocks * br * bc
  index_t blocks() const { return static_cast<index_t>(colidx.size()); }
};

// N:M compressed: for every row and every group of m columns, exactly n (value, in-group index) slots. Groups with
// fewer than n non-zeros are padded with zero values; a 1-byte index replaces a 4-byte column index.
struct NmMatrix {
  index_t rows = 0, cols = 0;
  int n = 2, m = 4;
  index_t groups = 0;                // per row: ceil(cols / m)
  std::vector<float> values;         // rows * groups * n
  std::vector<std::uint8_t> index;   // rows * groups * n, in [0, m)
};

Csr csr_from_dense(std::span<const float> w, index_t M, index_t K);
std::vector<float> dense_from_csr(const Csr& a);
Bsr bsr_from_dense(std::span<const float> w, index_t M, index_t K, int br, int bc);
std::vector<float> dense_from_bsr(const Bsr& a);
// Throws std::invalid_argument when a group holds more than n non-zeros (the mask is not N:M).
NmMatrix nm_from_dense(std::span<const float> w, index_t M, index_t K, int n, int m);
std::vector<float> dense_from_nm(const NmMatrix& a);

}  // namespace pb
