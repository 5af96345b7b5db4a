// Loaders for real pruned layers: DLMC .smtx sparsity patterns and NumPy .npy weight matrices.
// Strict: a truncated, inconsistent or hostile file raises IoError with one line naming the file and the problem;
// nothing is allocated from an untrusted size before it is checked against the file's own length.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "prunebench/sparse.h"

namespace pb::io {

struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The whole file, refusing files over max_bytes and empty ones (IoError names the file).
std::string read_file(const std::string& path, std::int64_t max_bytes);

// DLMC .smtx: "rows, cols, nnz" / rows+1 offsets / nnz column indices. The pattern is real; values are generated
// (seeded, non-zero, as fill_random) because the collection ships none.
Csr load_smtx(const std::string& path, std::uint64_t value_seed);
Csr parse_smtx(const std::string& text, const std::string& name, std::uint64_t value_seed);

struct NpyMatrix {
  index_t rows = 0, cols = 0;
  std::vector<float> data;  // row-major, converted from float64 when the file holds doubles
};
// 2-D, C order, little-endian float32 ('<f4') or float64 ('<f8'), format versions 1.0-3.0.
NpyMatrix load_npy(const std::string& path);
NpyMatrix parse_npy(const std::string& bytes, const std::string& name);
// Writes a float32 .npy (tests, and users who want to export a pruned layer).
void save_npy(const std::string& path, const float* data, index_t rows, index_t cols);

}  // namespace pb::io
