// Pruning: masks computed from weights, then applied. A mask is M*K bytes, row-major, 1 = keep.
// Sparsity is the fraction of weights removed; each rule removes round(sparsity * count) of its units (weights,
// rows, columns, blocks), the ones with the smallest magnitude (L1 norm for groups), ties broken by position so
// the result is deterministic.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "prunebench/types.h"

namespace pb {

using Mask = std::vector<std::uint8_t>;

Mask mask_random(index_t M, index_t K, double sparsity, std::uint64_t seed);       // control: no weight info
Mask mask_magnitude(std::span<const float> w, index_t M, index_t K, double sparsity);  // layer-wise |w|
// Global magnitude: one threshold over all layers together, so layers end up with different sparsities.
std::vector<Mask> mask_magnitude_global(const std::vector<std::span<const float>>& layers, double sparsity);
Mask mask_rows(std::span<const float> w, index_t M, index_t K, double sparsity);      // whole output rows by L1
Mask mask_columns(std::span<const float> w, index_t M, index_t K, double sparsity);   // whole input channels by L1
// r x c blocks by block L1 norm; edge blocks (when r or c does not divide the matrix) count their real size.
Mask mask_blocks(std::span<const float> w, index_t M, index_t K, int r, int c, double sparsity);
// N:M along K: in every group of m consecutive weights of a row keep the n largest (a last partial group keeps
// at most n). Sparsity is fixed by the rule: 1 - n/m.
Mask mask_nm(std::span<const float> w, index_t M, index_t K, int n, int m);

void apply_mask(std::span<float> w, const Mask& mask);

// Structured pruning as the smaller dense problem it leaves (kernels/prune/structured.cc). `kept` lists the rows,
// columns or channels that keep at least one weight, ascending; `w` holds the compact weights, row-major.
struct Compact {
  std::vector<index_t> kept;
  std::vector<float> w;
};
Compact compact_rows(std::span<const float> w, const Mask& m, index_t M, index_t K);     // kept rows x K
Compact compact_columns(std::span<const float> w, const Mask& m, index_t M, index_t K);  // M x kept columns
// Convolution filters, K x C x (R*S): whole input channels by the L1 norm of their weights over every filter.
Mask mask_conv_channels(std::span<const float> w, index_t K, index_t C, index_t RS, double sparsity);
// The kept input channels and the K x C' x (R*S) filters of the smaller layer.
Compact compact_conv_channels(std::span<const float> w, const Mask& m, index_t K, index_t C, index_t RS);
// The input of the smaller layer: channels `kept` of an N x C x HW activation, as N x kept x HW.
std::vector<float> gather_channels(const float* x, index_t N, index_t C, index_t HW, const std::vector<index_t>& kept);
double mask_sparsity(const Mask& mask);

// A pattern by name, as configs and benchmark names spell it: "random", "magnitude", "rows", "channels",
// "block<r>x<c>" (e.g. block4x4), "<n>:<m>" (e.g. 2:4). Throws std::invalid_argument on an unknown name.
struct PatternSpec {
  enum Kind { random, magnitude, rows, channels, block, nm } kind;
  int r = 1, c = 1;  // block shape, or n and m
};
PatternSpec parse_pattern(const std::string& name);

// Which weight formats a pattern can be given in, for the registry's serves(): every unstructured pattern (and a
// real .smtx pattern, "file") as CSR; blocks whose height has register-blocked code as BSR; N:M as N:M;
// structured patterns (whole rows/filters or input channels removed) as a smaller dense problem; "dense" is no
// pruning at all. Unknown names serve nothing.
bool bsr_block_supported(int block_rows);  // heights 1, 2, 4, 8
bool pattern_is_dense(const std::string& pattern);
bool pattern_is_structured(const std::string& pattern);
bool pattern_fits_csr(const std::string& pattern);
bool pattern_fits_bsr(const std::string& pattern);
bool pattern_fits_nm(const std::string& pattern);
Mask make_mask(const PatternSpec& p, std::span<const float> w, index_t M, index_t K, double sparsity,
               std::uint64_t seed);

}  // namespace pb
