// Every conv kernel against the float64 direct convolution: stride 2, padding, non-square images, 1x1 and 7x7
// filters, C or K of 1, outputs of size 1; sparse kernels on pruned filters; 1-3 threads.
#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <string>

#include "prunebench/conv.h"
#include "prunebench/emu512.h"
#include "prunebench/prune.h"
#include "prunebench/reference.h"

namespace {

using pb::ConvShape;
using pb::index_t;

const std::vector<ConvShape> kShapes = {
    // N, C, H, W, K, R, S, stride, pad
    {1, 3, 9, 9, 4, 3, 3, 1, 1},   {2, 5, 11, 7, 6, 3, 3, 2, 1},  {1, 8, 10, 10, 16, 1, 1, 1, 0},
    {1, 4, 12, 12, 3, 1, 1, 2, 0}, {1, 3, 15, 13, 5, 7, 7, 2, 3}, {1, 1, 6, 6, 1, 3, 3, 1, 0},
    {1, 7, 3, 3, 2, 3, 3, 1, 0},   {1, 2, 5, 40, 9, 3, 3, 1, 2},  {2, 6, 8, 70, 3, 1, 3, 1, 1},
    {1, 16, 4, 4, 33, 3, 3, 1, 1},
    // The direct kernel's register tiles: ResNet's 28x28 and 14x14 (2 and 1 vectors a row on AVX-512, 4 and 2 on
    // AVX2), 7x7, rows over 8 vectors (the scalar path), OH not a multiple of the tile height (the overlapping tile).
    {1, 9, 28, 28, 10, 3, 3, 1, 1}, {1, 12, 14, 14, 20, 3, 3, 1, 1}, {1, 8, 7, 7, 9, 3, 3, 1, 1},
    {1, 2, 3, 140, 3, 3, 3, 1, 1}, {1, 3, 31, 17, 4, 3, 3, 1, 1},
    // Enough channels for several L1 chunks (partial tiles carried between chunks, empty chunks skipped).
    {1, 64, 14, 14, 8, 3, 3, 1, 1}, {2, 40, 28, 28, 6, 3, 3, 1, 1}, {1, 96, 9, 9, 5, 1, 1, 1, 0},
    // Shifted copies past any L2 (5 MB): the direct kernel's single-copy layout.
    {1, 64, 100, 60, 3, 3, 3, 1, 1},
    // The im2col routes' thread splits: stride 2 with enough outputs (400) to split columns; 1x1 layers split by
    // columns of the input in place (256 outputs) and by filters (40 filters over 25 outputs).
    {1, 3, 40, 40, 5, 3, 3, 2, 1}, {1, 4, 16, 16, 6, 1, 1, 1, 0}, {1, 8, 5, 5, 40, 1, 1, 1, 0},
    // Padding wider than the image: outputs with one tap in the image, and at pad 3 rows with none (the direct
    // kernel's tiles skip the taps that read padding).
    {1, 5, 2, 12, 7, 3, 3, 1, 2}, {1, 3, 1, 24, 4, 3, 3, 1, 3},
};

void check(const pb::Kernel<pb::ConvFn>& k, const ConvShape& s, double sparsity, int threads) {
  SCOPED_TRACE(k.info.id() + " C" + std::to_string(s.C) + " H" + std::to_string(s.H) + " W" + std::to_string(s.W) +
               " K" + std::to_string(s.K) + " R" + std::to_string(s.R) + " stride " + std::to_string(s.stride) +
               " pad " + std::to_string(s.pad) + " sparsity " + std::to_string(sparsity) + " threads " +
               std::to_string(threads));
  const index_t CRS = s.C * s.R * s.S, out = s.N * s.K * s.OH() * s.OW();
  std::vector<float> x(static_cast<std::size_t>(s.N * s.C * s.H * s.W)), w(static_cast<std::size_t>(s.K * CRS));
  pb::fill_random(x, 1);
  pb::fill_random(w, 2);
  const std::string fmt = k.info.formats.at(0);
  if (fmt == "bsr") {
    pb::apply_mask(w, pb::mask_blocks(w, s.K, CRS, 4, 4, sparsity));
  } else if (fmt == "nm") {
    pb::apply_mask(w, pb::mask_nm(w, s.K, CRS, 2, 4));
  } else if (sparsity > 0) {
    pb::apply_mask(w, pb::mask_magnitude(w, s.K, CRS, sparsity));
  }
  pb::SparseWeights sw;
  sw.M = s.K, sw.K = CRS, sw.csr = pb::csr_from_dense(w, s.K, CRS);
  if (fmt == "bsr") sw.bsr = pb::bsr_from_dense(w, s.K, CRS, 4, 4);
  if (fmt == "nm") sw.nm = pb::nm_from_dense(w, s.K, CRS, 2, 4);
  std::vector<float> y(static_cast<std::size_t>(out + 1), -7.0f);
  // First on an input of NaNs: kernels keep per-thread scratch (padded planes, unfolded columns) between calls, and
  // one that read scratch it had not refilled would carry NaNs into the checked call.
  std::vector<float> nan_x(x.size(), std::numeric_limits<float>::quiet_NaN());
  k.run({s, nan_x.data(), w.data(), &sw, y.data(), threads, true});
  k.run({s, x.data(), w.data(), &sw, y.data(), threads, true});
  EXPECT_EQ(y.back(), -7.0f) << "write past y";
  std::vector<double> ref(static_cast<std::size_t>(out));
  pb::ref::conv(s, x.data(), w.data(), 0, s.K, ref.data());
  EXPECT_LE(pb::ref::max_rel_err(y.data(), out, ref.data(), 1, out), pb::ref::dot_tolerance(CRS));
}

TEST(Conv, EveryKernelMatchesTheOracle) {
  for (const auto& k : pb::conv_kernels()) {
    if (!k.info.available()) continue;
    const bool sparse = k.info.formats.at(0) != "dense";
    for (const auto& s : kShapes)
      for (int threads : {1, 2, 3})
        for (double sp : sparse ? std::vector<double>{0.0, 0.7, 0.95} : std::vector<double>{0.0}) check(k, s, sp, threads);
  }
}

// sparse_auto times the other CSR kernels at its set-up and keeps the faster: the pick is one of them, named for the
// row's label, and its cost is the set-up's; another thread count is a new set-up. (Its results are checked with
// every kernel's above.)
TEST(Conv, AutoPicksOneOfTheSparseKernelsAtSetUpAndSaysWhich) {
  const pb::Kernel<pb::ConvFn>* k = nullptr;
  std::set<std::string> candidates;
  for (const auto& c : pb::conv_kernels()) {
    if (c.info.id() == "openmp/sparse_auto") k = &c;
    else if (c.info.formats == std::vector<std::string>{"csr"}) candidates.insert(c.info.variant);
  }
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(candidates, (std::set<std::string>{"sparse_direct", "sparse_im2col"}));
  const ConvShape s{1, 16, 14, 14, 20, 3, 3, 1, 1};
  const index_t CRS = s.C * s.R * s.S;
  std::vector<float> x(static_cast<std::size_t>(s.C * s.H * s.W)), w(static_cast<std::size_t>(s.K * CRS));
  std::vector<float> y(static_cast<std::size_t>(s.K * s.OH() * s.OW()));
  pb::fill_random(x, 1);
  pb::fill_random(w, 2);
  pb::apply_mask(w, pb::mask_magnitude(w, s.K, CRS, 0.9));
  pb::SparseWeights sw;
  sw.M = s.K, sw.K = CRS, sw.csr = pb::csr_from_dense(w, s.K, CRS);
  std::string first_key;
  for (int threads : {1, 2}) {
    k->run({s, x.data(), w.data(), &sw, y.data(), threads, true});
    // " (threads sharing a core)" follows the name where the trials found the two threads on one core.
    const std::string& chosen = sw.prepared.chosen;
    EXPECT_EQ(candidates.count(chosen.substr(0, chosen.find(' '))), 1u) << chosen;
    EXPECT_GT(sw.prepared.setup_seconds, 0);
    const std::string key = sw.prepared.key;
    EXPECT_NE(key, first_key);  // a new thread count: picked again
    k->run({s, x.data(), w.data(), &sw, y.data(), threads, true});
    EXPECT_EQ(sw.prepared.key, key);  // picked once, then reused
    first_key = key;
  }
}

TEST(Conv, OutputSizeAndIm2col) {
  const ConvShape s{1, 2, 3, 3, 1, 3, 3, 1, 0};
  EXPECT_EQ(s.OH(), 1);
  EXPECT_EQ(s.OW(), 1);
  const float x[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
  float cols[18];
  pb::im2col(s, x, cols);  // one output position: the columns are the whole input
  for (int i = 0; i < 18; ++i) EXPECT_EQ(cols[i], x[i]);
  const ConvShape p{1, 1, 2, 2, 1, 3, 3, 1, 1};  // padding: 2x2 outputs, windows hang over the border
  const float xp[4] = {1, 2, 3, 4};
  float cp[9 * 4];
  pb::im2col(p, xp, cp);
  EXPECT_EQ(cp[0], 0.0f);           // (r=0,s=0) at output (0,0) reads (-1,-1)
  EXPECT_EQ(cp[4 * 4 + 0], 1.0f);   // centre tap at output (0,0) reads (0,0)
  EXPECT_EQ(cp[8 * 4 + 3], 0.0f);   // (r=2,s=2) at output (1,1) reads (2,2): padding
  EXPECT_EQ(cp[8 * 4 + 0], 4.0f);   // (r=2,s=2) at output (0,0) reads (1,1)
}

// Any range of columns, unfolded on its own, is those columns of the whole unfolding.
TEST(Conv, Im2colColumnsAreColumnsOfIm2col) {
  for (const ConvShape& s : {ConvShape{1, 3, 9, 11, 1, 3, 3, 1, 1}, ConvShape{1, 2, 13, 10, 1, 3, 5, 2, 2},
                             ConvShape{1, 4, 7, 7, 1, 1, 1, 1, 0}}) {
    const index_t OHW = s.OH() * s.OW(), CRS = s.C * s.R * s.S;
    std::vector<float> x(static_cast<std::size_t>(s.C * s.H * s.W)), all(static_cast<std::size_t>(CRS * OHW));
    pb::fill_random(x, 3);
    pb::im2col(s, x.data(), all.data(), 2);
    for (auto [j0, j1] : {std::pair<index_t, index_t>{0, OHW}, {1, OHW - 1}, {OHW / 3, OHW / 2}, {5, 6}}) {
      std::vector<float> part(static_cast<std::size_t>(CRS * (j1 - j0)), -7.0f);
      pb::im2col_columns(s, x.data(), part.data(), j0, j1);
      for (index_t r = 0; r < CRS; ++r)
        for (index_t j = j0; j < j1; ++j)
          ASSERT_EQ(part[r * (j1 - j0) + j - j0], all[r * OHW + j]) << "row " << r << " column " << j;
    }
  }
}

}  // namespace

namespace {

// Multiply-adds whose input lies inside the image, counted tap by tap (the definition of the `flops` counter).
double brute_useful_flops(const ConvShape& s, const std::vector<float>& w) {
  double macs = 0;
  for (index_t k = 0; k < s.K; ++k)
    for (index_t c = 0; c < s.C; ++c)
      for (index_t r = 0; r < s.R; ++r)
        for (index_t q = 0; q < s.S; ++q) {
          if (w[((k * s.C + c) * s.R + r) * s.S + q] == 0.0f) continue;
          for (index_t oh = 0; oh < s.OH(); ++oh)
            for (index_t ow = 0; ow < s.OW(); ++ow) {
              const index_t ih = oh * s.stride - s.pad + r, iw = ow * s.stride - s.pad + q;
              if (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W) macs += s.N;
            }
        }
  return 2 * macs;
}

// Every ISA instance of the direct sparse kernel (the registry runs only the widest; AVX-512's emulated where this CPU
// has no AVX-512), with 1-3 threads.
TEST(Conv, SparseDirectEveryIsaMatchesTheOracle) {
  const auto variants =
      pb::emu512::with(pb::conv_sparse_direct_isa_variants(), pb::ConvFn(pb::emu512::conv_sparse_direct));
  for (const auto& [isa, fn] : variants) {
    pb::Kernel<pb::ConvFn> k{{"conv", "openmp", "sparse_direct_" + isa, {"csr"}, nullptr, nullptr}, fn};
    for (const auto& s : kShapes)
      for (int threads : {1, 3})
        for (double sp : {0.0, 0.9}) check(k, s, sp, threads);
    // Layouts: 2 column sets (2x2, OW = W + 1), 3 sets on rows 8 floats apart (1x3 on a narrow image: the sets
    // added up in place, then copied out by rows), 1x1 with padding (OW past W + pad), threads over tiles of a
    // 56-wide image (rows of 64 floats) and over filters at 7x7, column sets without padding (rows of 32 for 30),
    // 5x5 (too many residues for sets: unaligned tiles) on a 28-wide image, two images.
    for (const ConvShape& s : std::initializer_list<ConvShape>{{1, 5, 14, 14, 7, 2, 2, 1, 1},
                                                              {1, 6, 8, 5, 7, 1, 3, 1, 1},
                                                              {1, 3, 5, 6, 4, 1, 1, 1, 1},
                                                              {1, 4, 56, 56, 3, 3, 3, 1, 1},
                                                              {1, 70, 7, 7, 5, 3, 3, 1, 1},
                                                              {1, 9, 30, 30, 5, 3, 3, 1, 0},
                                                              {2, 7, 28, 28, 6, 5, 5, 1, 2}})
      for (int threads : {1, 2, 3}) check(k, s, 0.9, threads);
  }
}

TEST(Conv, DenseDirectEveryIsaMatchesTheOracle) {
  const auto variants =
      pb::emu512::with(pb::conv_dense_direct_isa_variants(), pb::ConvFn(pb::emu512::conv_dense_direct));
  for (const auto& [isa, fn] : variants) {
    pb::Kernel<pb::ConvFn> k{{"conv", "openmp", "direct_" + isa, {"dense"}, nullptr, nullptr}, fn};
    for (const auto& s : kShapes)
      for (int threads : {1, 3}) check(k, s, 0.0, threads);
    // Register tiles of many widths (OW = 1 .. 30: full and partial tiles of 14 and 6, and with K = 33 of the
    // one-vector tiles' 28 and 12), K across the filter-block edge (31, 32, 33, 65), stride 2 with odd sizes,
    // padding 2. A last block of one vector of filters or fewer runs the one-vector tiles: K = 33 and 65 (one
    // filter past the block on every ISA), 24, 40 and 48 (a whole vector past it: 8 on AVX2, 16 on AVX-512), at
    // both strides.
    for (index_t ow : {1, 5, 6, 7, 13, 14, 15, 29, 30})
      check(k, {1, 3, 4, ow, 33, 3, 3, 1, 1}, 0.0, 2);
    for (index_t kk : {31, 32, 65, 24, 40, 48}) check(k, {1, 5, 9, 11, kk, 3, 3, 2, 1}, 0.0, 2);
    for (index_t kk : {24, 40, 48}) check(k, {1, 4, 8, 15, kk, 3, 3, 1, 1}, 0.0, 3);
    check(k, {2, 7, 13, 17, 18, 5, 5, 1, 2}, 0.0, 3);
    // 1x1: rows of whole vectors read in place (96 pixels; 64: a ragged last panel of whole vectors, read in
    // place too), ragged rows copied (49), channels in several L2
    // chunks (C200 at 56x56), threads splitting the filters (K over HW), K past a multiple of the filter block.
    check(k, {1, 5, 8, 12, 9, 1, 1, 1, 0}, 0.0, 2);
    check(k, {1, 5, 8, 8, 9, 1, 1, 1, 0}, 0.0, 2);
    check(k, {1, 7, 7, 7, 19, 1, 1, 1, 0}, 0.0, 1);
    check(k, {1, 200, 56, 56, 13, 1, 1, 1, 0}, 0.0, 2);
    check(k, {2, 20, 3, 3, 40, 1, 1, 1, 0}, 0.0, 3);
    // K over HW with enough panels that the threads split the pixels anyway (AVX2: 13 panels of 16 at 196 pixels).
    for (int threads : {1, 2}) check(k, {1, 9, 14, 14, 200, 1, 1, 1, 0}, 0.0, threads);
    // One to four pixels past the last whole panel riding along with it (49, 50, 51 and 52 pixels on every ISA's
    // panel width), by pixels and by filters (K over HW), with 1-3 threads.
    for (index_t kk : {11, 60})
      for (const auto& [h, w] : {std::pair<index_t, index_t>{7, 7}, {5, 10}, {3, 17}, {4, 13}})
        for (int threads : {1, 2, 3}) check(k, {1, 6, h, w, kk, 1, 1, 1, 0}, 0.0, threads);
  }
}

// The packed filters live in the weights' cache slot: new weights with the slot reset are packed again, and a call
// without a slot packs into scratch.
TEST(Conv, DenseDirectRepacksNewWeights) {
  const ConvShape s{1, 6, 9, 9, 20, 3, 3, 1, 1};
  const index_t CRS = s.C * s.R * s.S, out = s.K * s.OH() * s.OW();
  std::vector<float> x(static_cast<std::size_t>(s.C * s.H * s.W)), w(static_cast<std::size_t>(s.K * CRS));
  std::vector<float> y(static_cast<std::size_t>(out));
  std::vector<double> ref(static_cast<std::size_t>(out));
  pb::fill_random(x, 1);
  pb::SparseWeights sw;
  for (std::uint64_t seed : {2, 3}) {
    pb::fill_random(w, seed);  // the same address, new values
    sw.prepared = pb::PreparedForm{};
    for (const pb::SparseWeights* slot : std::initializer_list<const pb::SparseWeights*>{&sw, nullptr}) {
      pb::conv_openmp_direct({s, x.data(), w.data(), slot, y.data(), 2, true});
      pb::ref::conv(s, x.data(), w.data(), 0, s.K, ref.data());
      EXPECT_LE(pb::ref::max_rel_err(y.data(), out, ref.data(), 1, out), pb::ref::dot_tolerance(CRS)) << seed;
    }
    EXPECT_FALSE(sw.prepared.key.empty());
  }
}

}  // namespace

TEST(Conv, UsefulFlopsLeaveOutThePaddingTaps) {
  for (const auto& s : kShapes) {
    std::vector<float> w(static_cast<std::size_t>(s.K * s.C * s.R * s.S));
    pb::fill_random(w, 3);
    EXPECT_DOUBLE_EQ(pb::conv_useful_flops(s), brute_useful_flops(s, w));
    pb::apply_mask(w, pb::mask_magnitude(w, s.K, s.C * s.R * s.S, 0.7));
    EXPECT_DOUBLE_EQ(pb::conv_useful_flops(s, pb::csr_from_dense(w, s.K, s.C * s.R * s.S)), brute_useful_flops(s, w));
    if (s.pad == 0) {
      EXPECT_DOUBLE_EQ(pb::conv_useful_flops(s), s.flops());
    }
  }
  // ResNet-50's C512@7 3x3: per axis 6 + 7 + 6 of the 3 x 7 taps read the image, so 361 of 441 per channel pair.
  const ConvShape c512{1, 512, 7, 7, 512, 3, 3, 1, 1};
  EXPECT_DOUBLE_EQ(pb::conv_useful_flops(c512) / c512.flops(), 361.0 / 441.0);
}
