// The pre-timing check must reach every part of the output a kernel could get wrong on its own: all rows while
// the float64 oracle is cheap, else at least one row in every block of rows, the edges included.
#include <gtest/gtest.h>

#include <set>

#include "verify_sample.h"

using pb::index_t;
using pb::bench::check_images;
using pb::bench::check_rows;
using pb::bench::kOracleBudgetMacs;

TEST(VerifySample, EveryRowWhileTheOracleIsCheap) {
  // 200 rows of a 128 x 512 product: 13 M multiply-adds, all checked (the old sample took 64 of them).
  EXPECT_EQ(check_rows(200, 128.0 * 512).size(), 200u);
  EXPECT_EQ(check_rows(1, 1e12).size(), 1u);
  EXPECT_TRUE(check_rows(0, 1.0).empty());
}

TEST(VerifySample, BeyondTheBudgetEveryBlockOfRowsIsReached) {
  for (index_t M : {2048, 3072, 4097, 28672}) {
    const double per_row = 2048.0 * 4096;
    const auto rows = check_rows(M, per_row);
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows.front(), 0);
    EXPECT_EQ(rows.back(), M - 1);
    EXPECT_LE(double(rows.size() - 2) * per_row, kOracleBudgetMacs + 64 * per_row) << M;
    // No gap between checked rows wider than two blocks: a broken tile of 2 x block rows cannot hide.
    const index_t n = std::max<index_t>(64, static_cast<index_t>(kOracleBudgetMacs / per_row));
    const index_t block = (M + n - 1) / n;
    for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_LT(rows[i] - rows[i - 1], 2 * block) << M;
    EXPECT_GE(rows.size(), std::min<std::size_t>(static_cast<std::size_t>(M), 64)) << M;
  }
}

TEST(VerifySample, ConvolutionImages) {
  EXPECT_EQ(check_images(8, 1e6).size(), 8u);
  const auto two = check_images(8, 1e9);
  EXPECT_EQ(two, (std::vector<index_t>{0, 7}));
}
