// Pruning invariants and sparse-format round trips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "prunebench/prune.h"
#include "prunebench/sparse.h"

namespace {

using pb::index_t;

std::vector<float> weights(index_t M, index_t K, std::uint64_t seed) {
  std::vector<float> w(static_cast<std::size_t>(M * K));
  pb::fill_random(w, seed);
  return w;
}

double kept_min_pruned_max(const std::vector<double>& score, const std::vector<std::uint8_t>& keep, double* pruned_max) {
  double kmin = INFINITY, pmax = -INFINITY;
  for (std::size_t i = 0; i < score.size(); ++i) {
    if (keep[i]) {
      kmin = std::min(kmin, score[i]);
    } else {
      pmax = std::max(pmax, score[i]);
    }
  }
  *pruned_max = pmax;
  return kmin;
}

TEST(Prune, MagnitudeKeepsTheLargestAtTheRequestedSparsity) {
  const index_t M = 37, K = 53;
  const auto w = weights(M, K, 1);
  for (double s : {0.0, 0.5, 0.9, 0.98, 1.0}) {
    const auto m = pb::mask_magnitude(w, M, K, s);
    EXPECT_EQ(std::count(m.begin(), m.end(), 0), std::llround(s * M * K)) << s;
    std::vector<double> score(w.size());
    for (std::size_t i = 0; i < w.size(); ++i) score[i] = std::abs(w[i]);
    double pmax;
    const double kmin = kept_min_pruned_max(score, m, &pmax);
    if (s > 0 && s < 1) {
      EXPECT_GE(kmin, pmax) << s;
    }
  }
}

TEST(Prune, GlobalMagnitudeUsesOneThresholdAcrossLayers) {
  auto a = weights(20, 30, 2), b = weights(40, 10, 3);
  for (float& x : b) x *= 0.5f;  // a weaker layer: global pruning must hit it harder
  const auto masks = pb::mask_magnitude_global({a, b}, 0.7);
  const double total = (pb::mask_sparsity(masks[0]) * a.size() + pb::mask_sparsity(masks[1]) * b.size()) / (a.size() + b.size());
  EXPECT_NEAR(total, 0.7, 1e-9);
  EXPECT_GT(pb::mask_sparsity(masks[1]), pb::mask_sparsity(masks[0]));
  float kept_min = INFINITY, pruned_max = 0;
  for (int l = 0; l < 2; ++l) {
    const auto& w = l ? b : a;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (masks[l][i]) kept_min = std::min(kept_min, std::abs(w[i]));
      else pruned_max = std::max(pruned_max, std::abs(w[i]));
    }
  }
  EXPECT_GE(kept_min, pruned_max);
}

TEST(Prune, RandomIsSeededAndExact) {
  const auto a = pb::mask_random(30, 30, 0.8, 5), b = pb::mask_random(30, 30, 0.8, 5), c = pb::mask_random(30, 30, 0.8, 6);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_DOUBLE_EQ(pb::mask_sparsity(a), 720.0 / 900.0);
}

TEST(Prune, RowsAndChannelsPruneWholeLinesByL1) {
  const index_t M = 16, K = 24;
  const auto w = weights(M, K, 4);
  const auto rows = pb::mask_rows(w, M, K, 0.5);
  const auto cols = pb::mask_columns(w, M, K, 0.25);
  std::vector<double> rl(M, 0), cl(K, 0);
  std::vector<std::uint8_t> rk(M), ck(K);
  for (index_t i = 0; i < M; ++i)
    for (index_t k = 0; k < K; ++k) {
      rl[i] += std::abs(w[i * K + k]), cl[k] += std::abs(w[i * K + k]);
      EXPECT_EQ(rows[i * K + k], rows[i * K]) << "row " << i << " not whole";
      EXPECT_EQ(cols[i * K + k], cols[k]) << "column " << k << " not whole";
    }
  for (index_t i = 0; i < M; ++i) rk[i] = rows[i * K];
  for (index_t k = 0; k < K; ++k) ck[k] = cols[k];
  EXPECT_EQ(std::count(rk.begin(), rk.end(), 0), 8);
  EXPECT_EQ(std::count(ck.begin(), ck.end(), 0), 6);
  double pmax;
  EXPECT_GE(kept_min_pruned_max(rl, rk, &pmax), pmax);
  EXPECT_GE(kept_min_pruned_max(cl, ck, &pmax), pmax);
}

TEST(Prune, BlocksAreWholeAndChosenByL1) {
  for (auto [r, c] : {std::pair{4, 4}, {1, 4}, {4, 1}, {8, 8}, {2, 3}}) {
    const index_t M = 37, K = 50;  // edge blocks on both sides
    const auto w = weights(M, K, 9);
    const auto m = pb::mask_blocks(w, M, K, r, c, 0.8);
    const index_t bk = (K + c - 1) / c;
    std::vector<double> l1((M + r - 1) / r * bk, 0);
    std::vector<std::uint8_t> keep(l1.size());
    for (index_t i = 0; i < M; ++i)
      for (index_t k = 0; k < K; ++k) {
        const index_t b = (i / r) * bk + k / c;
        l1[b] += std::abs(w[i * K + k]);
        keep[b] = m[i * K + k];
        ASSERT_EQ(m[i * K + k], m[(i / r * r) * K + k / c * c]) << r << "x" << c << " block not whole";
      }
    EXPECT_LE(pb::mask_sparsity(m), 0.8 + 1e-12);
    EXPECT_GE(pb::mask_sparsity(m), 0.8 - double(r * c) / (M * K) - 1e-12);
    // Among full-size blocks, every kept one outweighs every pruned one.
    double kmin = INFINITY, pmax = 0;
    for (std::size_t b = 0; b < l1.size(); ++b) {
      const bool full = (index_t(b) / bk + 1) * r <= M && (index_t(b) % bk + 1) * c <= K;
      if (!full) continue;
      if (keep[b]) {
        kmin = std::min(kmin, l1[b]);
      } else {
        pmax = std::max(pmax, l1[b]);
      }
    }
    EXPECT_GE(kmin, pmax) << r << "x" << c;
  }
}

TEST(Prune, NMKeepsExactlyNLargestPerGroup) {
  for (auto [n, m] : {std::pair{2, 4}, {1, 4}, {3, 8}}) {
    const index_t M = 9, K = 22;  // last group partial
    const auto w = weights(M, K, 11);
    const auto mask = pb::mask_nm(w, M, K, n, m);
    for (index_t i = 0; i < M; ++i)
      for (index_t g = 0; g < K; g += m) {
        const index_t len = std::min<index_t>(m, K - g);
        int kept = 0;
        float kmin = INFINITY, pmax = 0;
        for (index_t k = g; k < g + len; ++k) {
          kept += mask[i * K + k];
          if (mask[i * K + k]) {
            kmin = std::min(kmin, std::abs(w[i * K + k]));
          } else {
            pmax = std::max(pmax, std::abs(w[i * K + k]));
          }
        }
        EXPECT_EQ(kept, std::min<index_t>(n, len));
        EXPECT_GE(kmin, pmax);
      }
  }
}

TEST(Prune, PatternNames) {
  EXPECT_EQ(pb::parse_pattern("block4x4").kind, pb::PatternSpec::block);
  EXPECT_EQ(pb::parse_pattern("block1x4").c, 4);
  EXPECT_EQ(pb::parse_pattern("2:4").kind, pb::PatternSpec::nm);
  EXPECT_EQ(pb::parse_pattern("1:4").r, 1);
  for (const char* bad : {"block", "block4x", "block0x4", "4:2", "2:4x", "magnitudes", ""})
    EXPECT_THROW(pb::parse_pattern(bad), std::invalid_argument) << bad;
}

std::vector<float> masked(index_t M, index_t K, const std::string& pattern, double s) {
  auto w = weights(M, K, 21);
  pb::apply_mask(w, pb::make_mask(pb::parse_pattern(pattern), w, M, K, s, 3));
  return w;
}

TEST(Formats, RoundTrips) {
  for (auto [M, K] : {std::pair<index_t, index_t>{1, 1}, {7, 9}, {37, 50}, {64, 64}, {0, 5}, {5, 0}}) {
    const auto w = masked(M, K, "magnitude", 0.7);
    const auto csr = pb::csr_from_dense(w, M, K);
    EXPECT_EQ(pb::dense_from_csr(csr), w);
    EXPECT_EQ(csr.nnz(), std::count_if(w.begin(), w.end(), [](float x) { return x != 0; }));
    for (auto [r, c] : {std::pair{4, 4}, {1, 4}, {4, 1}, {8, 8}, {3, 5}}) {
      const auto bw = masked(M, K, "block" + std::to_string(r) + "x" + std::to_string(c), 0.8);
      EXPECT_EQ(pb::dense_from_bsr(pb::bsr_from_dense(bw, M, K, r, c)), bw) << r << "x" << c;
    }
    const auto nw = masked(M, K, "2:4", 0.5);
    EXPECT_EQ(pb::dense_from_nm(pb::nm_from_dense(nw, M, K, 2, 4)), nw);
  }
  const auto dense = weights(4, 8, 1);
  EXPECT_THROW(pb::nm_from_dense(dense, 4, 8, 2, 4), std::invalid_argument);  // not 2:4
}

// Structured pruning's smaller problem, built in the library (kernels/prune/structured.cc).
TEST(Structured, CompactRowsAndColumnsKeepWhatTheMaskKeeps) {
  // 3 x 4, values 1..12; the mask keeps rows 0 and 2, or columns 1 and 3.
  std::vector<float> w(12);
  for (int i = 0; i < 12; ++i) w[i] = float(i + 1);
  const pb::Mask rows = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
  const pb::Compact r = pb::compact_rows(w, rows, 3, 4);
  EXPECT_EQ(r.kept, (std::vector<index_t>{0, 2}));
  EXPECT_EQ(r.w, (std::vector<float>{1, 2, 3, 4, 9, 10, 11, 12}));
  const pb::Mask cols = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
  const pb::Compact c = pb::compact_columns(w, cols, 3, 4);
  EXPECT_EQ(c.kept, (std::vector<index_t>{1, 3}));
  EXPECT_EQ(c.w, (std::vector<float>{2, 4, 6, 8, 10, 12}));
  // Nothing kept, and an empty matrix: empty problems, not errors.
  EXPECT_TRUE(pb::compact_rows(w, pb::Mask(12, 0), 3, 4).kept.empty());
  EXPECT_TRUE(pb::compact_columns({}, {}, 0, 0).w.empty());
}

TEST(Structured, ConvChannelsGoByTheirL1NormOverEveryFilter) {
  // K=2 filters, C=3 channels, R*S=2: channel 1 is weakest overall although filter 0 holds its largest weight.
  const index_t K = 2, C = 3, RS = 2;
  const std::vector<float> w = {1, 1,  5, 0.1f,  -2, 2,     // filter 0: channels 0, 1, 2
                                3, -3, -0.1f, 0,  4, 4};    // filter 1
  const pb::Mask m = pb::mask_conv_channels(w, K, C, RS, 1.0 / 3);  // drop one channel of three
  for (index_t k = 0; k < K; ++k)
    for (index_t j = 0; j < C * RS; ++j) EXPECT_EQ(m[k * C * RS + j], j / RS == 1 ? 0 : 1) << k << "," << j;
  std::vector<float> pruned = w;
  pb::apply_mask(pruned, m);
  const pb::Compact c = pb::compact_conv_channels(pruned, m, K, C, RS);
  EXPECT_EQ(c.kept, (std::vector<index_t>{0, 2}));
  EXPECT_EQ(c.w, (std::vector<float>{1, 1, -2, 2, 3, -3, 4, 4}));  // K x kept x RS
  // The input of the smaller layer: N=2 images, C=3 channels of HW=2 pixels; channels 0 and 2 kept.
  const std::vector<float> x = {0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121};
  EXPECT_EQ(pb::gather_channels(x.data(), 2, 3, 2, c.kept), (std::vector<float>{0, 1, 20, 21, 100, 101, 120, 121}));
}

}  // namespace
