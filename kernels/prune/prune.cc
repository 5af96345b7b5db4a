#include "prunebench/prune.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <stdexcept>

namespace pb {

namespace {

index_t count_to_prune(index_t units, double sparsity) {
  return std::clamp<index_t>(static_cast<index_t>(std::llround(sparsity * static_cast<double>(units))), 0, units);
}

// Indices of the `drop` smallest scores (ties: lower index first), as a keep-flag per unit.
std::vector<std::uint8_t> keep_largest(const std::vector<double>& score, index_t drop) {
  std::vector<index_t> order(score.size());
  std::iota(order.begin(), order.end(), index_t{0});
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) { return score[a] < score[b]; });
  std::vector<std::uint8_t> keep(score.size(), 1);
  for (index_t i = 0; i < drop; ++i) keep[order[i]] = 0;
  return keep;
}

}  // namespace

Mask mask_random(index_t M, index_t K, double sparsity, std::uint64_t seed) {
  std::vector<double> score(static_cast<std::size_t>(M * K));
  std::mt19937_64 gen(seed);
  for (double& s : score) s = static_cast<double>(gen());
  return keep_largest(score, count_to_prune(M * K, sparsity));
}

Mask mask_magnitude(std::span<const float> w, index_t M, index_t K, double sparsity) {
  std::vector<double> score(static_cast<std::size_t>(M * K));
  for (index_t i = 0; i < M * K; ++i) score[i] = std::abs(w[i]);
  return keep_largest(score, count_to_prune(M * K, sparsity));
}

std::vector<Mask> mask_magnitude_global(const std::vector<std::span<const float>>& layers, double sparsity) {
  std::vector<double> score;
  for (const auto& l : layers)
    for (float x : l) score.push_back(std::abs(x));
  const Mask all = keep_largest(score, count_to_prune(static_cast<index_t>(score.size()), sparsity));
  std::vector<Mask> out;
  std::size_t at = 0;
  for (const auto& l : layers) {
    out.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(at), all.begin() + static_cast<std::ptrdiff_t>(at + l.size()));
    at += l.size();
  }
  return out;
}

Mask mask_rows(std::span<const float> w, index_t M, index_t K, double sparsity) {
  std::vector<double> norm(static_cast<std::size_t>(M), 0.0);
  for (index_t i = 0; i < M; ++i)
    for (index_t k = 0; k < K; ++k) norm[i] += std::abs(w[i * K + k]);
  const auto keep = keep_largest(norm, count_to_prune(M, sparsity));
  Mask m(static_cast<std::size_t>(M * K));
  for (index_t i = 0; i < M; ++i) std::fill_n(m.begin() + i * K, K, keep[i]);
  return m;
}

Mask mask_columns(std::span<const float> w, index_t M, index_t K, double sparsity) {
  std::vector<double> norm(static_cast<std::size_t>(K), 0.0);
  for (index_t i = 0; i < M; ++i)
    for (index_t k = 0; k < K; ++k) norm[k] += std::abs(w[i * K + k]);
  const auto keep = keep_largest(norm, count_to_prune(K, sparsity));
  Mask m(static_cast<std::size_t>(M * K));
  for (index_t i = 0; i < M; ++i)
    for (index_t k = 0; k < K; ++k) m[i * K + k] = keep[k];
  return m;
}

Mask mask_blocks(std::span<const float> w, index_t M, index_t K, int r, int c, double sparsity) {
  if (r < 1 || c < 1) throw std::invalid_argument("block shape must be at least 1x1");
  const index_t bm = (M + r - 1) / r, bk = (K + c - 1) / c;
  std::vector<double> norm(static_cast<std::size_t>(bm * bk), 0.0);
  for (index_t i = 0; i < M; ++i)
    for (index_t k = 0; k < K; ++k) norm[(i / r) * bk + k / c] += std::abs(w[i * K + k]);
  // Prune by weight count, not block count, so edge blocks do not skew the achieved sparsity much: drop the
  // weakest blocks until round(sparsity * M * K) weights are gone (never more).
  std::vector<index_t> order(norm.size());
  std::iota(order.begin(), order.end(), index_t{0});
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) { return norm[a] < norm[b]; });
  const index_t target = count_to_prune(M * K, sparsity);
  std::vector<std::uint8_t> keep(norm.size(), 1);
  index_t removed = 0;
  for (index_t b : order) {
    const index_t h = std::min<index_t>(r, M - (b / bk) * r), wd = std::min<index_t>(c, K - (b % bk) * c);
    if (removed + h * wd > target) continue;  // a smaller edge block further on may still fit
    keep[b] = 0;
    removed += h * wd;
    if (removed == target) break;
  }
  Mask m(static_cast<std::size_t>(M * K));
  for (index_t i = 0; i < M; ++i)
    for (index_t k = 0; k < K; ++k) m[i * K + k] = keep[(i / r) * bk + k / c];
  return m;
}

Mask mask_nm(std::span<const float> w, index_t M, index_t K, int n, int m) {
  if (m < 1 || n < 0 || n > m) throw std::invalid_argument("N:M needs 0 <= N <= M and M >= 1");
  Mask mask(static_cast<std::size_t>(M * K), 0);
  std::vector<index_t> idx;
  for (index_t i = 0; i < M; ++i) {
    for (index_t g = 0; g < K; g += m) {
      const index_t len = std::min<index_t>(m, K - g);
      idx.resize(static_cast<std::size_t>(len));
      std::iota(idx.begin(), idx.end(), g);
      // Largest first; ties: lower column first.
      std::stable_sort(idx.begin(), idx.end(),
                       [&](index_t a, index_t b) { return std::abs(w[i * K + a]) > std::abs(w[i * K + b]); });
      for (index_t t = 0; t < std::min<index_t>(n, len); ++t) mask[i * K + idx[t]] = 1;
    }
  }
  return mask;
}

void apply_mask(std::span<float> w, const Mask& mask) {
  for (std::size_t i = 0; i < w.size(); ++i)
    if (!mask[i]) w[i] = 0.0f;
}

double mask_sparsity(const Mask& mask) {
  if (mask.empty()) return 0.0;
  const auto kept = std::count(mask.begin(), mask.end(), std::uint8_t{1});
  return 1.0 - static_cast<double>(kept) / static_cast<double>(mask.size());
}

PatternSpec parse_pattern(const std::string& s) {
  if (s == "random") return {PatternSpec::random};
  if (s == "magnitude") return {PatternSpec::magnitude};
  if (s == "rows") return {PatternSpec::rows};
  if (s == "channels") return {PatternSpec::channels};
  int a = 0, b = 0;
  char tail = 0;
  if (s.rfind("block", 0) == 0 && std::sscanf(s.c_str() + 5, "%dx%d%c", &a, &b, &tail) == 2 && a >= 1 && b >= 1 &&
      a <= 64 && b <= 64)
    return {PatternSpec::block, a, b};
  if (std::sscanf(s.c_str(), "%d:%d%c", &a, &b, &tail) == 2 && a >= 1 && b >= 2 && a < b && b <= 255)
    return {PatternSpec::nm, a, b};
  throw std::invalid_argument("unknown pattern \"" + s +
                              "\" (random, magnitude, rows, channels, block<r>x<c>, <n>:<m>)");
}

// Block heights spmm_openmp_bsr (and the BSR convolution) have register-blocked code for; any block width.
bool bsr_block_supported(int br) { return br == 1 || br == 2 || br == 4 || br == 8; }

bool pattern_is_dense(const std::string& p) { return p == "dense"; }
bool pattern_is_structured(const std::string& p) { return p == "rows" || p == "channels" || p == "filters"; }

namespace {
bool parsed(const std::string& p, PatternSpec& out) {
  try {
    out = parse_pattern(p);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}
}  // namespace

bool pattern_fits_csr(const std::string& p) {
  PatternSpec s{};
  return p == "file" || (parsed(p, s) && s.kind != PatternSpec::rows && s.kind != PatternSpec::channels);
}
bool pattern_fits_bsr(const std::string& p) {
  PatternSpec s{};
  return parsed(p, s) && s.kind == PatternSpec::block && bsr_block_supported(s.r);
}
bool pattern_fits_nm(const std::string& p) {
  PatternSpec s{};
  return parsed(p, s) && s.kind == PatternSpec::nm;
}

Mask make_mask(const PatternSpec& p, std::span<const float> w, index_t M, index_t K, double sparsity,
               std::uint64_t seed) {
  switch (p.kind) {
    case PatternSpec::random: return mask_random(M, K, sparsity, seed);
    case PatternSpec::magnitude: return mask_magnitude(w, M, K, sparsity);
    case PatternSpec::rows: return mask_rows(w, M, K, sparsity);
    case PatternSpec::channels: return mask_columns(w, M, K, sparsity);
    case PatternSpec::block: return mask_blocks(w, M, K, p.r, p.c, sparsity);
    default: return mask_nm(w, M, K, p.r, p.c);
  }
}

}  // namespace pb
