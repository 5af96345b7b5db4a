// The precision table (precision.h) and the CPU side of the 2:4 path: what a build without a GPU can check.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "prunebench/precision.h"
#include "prunebench/prune.h"
#include "prunebench/reference.h"

namespace {

using pb::index_t;

TEST(Precision, TableIsConsistent) {
  std::set<std::string> names;
  for (const auto& p : pb::precisions()) names.insert(p.dtype);
  for (const auto& p : pb::precisions()) {
    ASSERT_FALSE(p.accepts.empty());
    EXPECT_EQ(p.accepts.front(), p.dtype);  // a precision always accepts itself, first
    for (const auto& a : p.accepts) {
      EXPECT_TRUE(names.count(a)) << a;
      // Acceptance is mutual: a deployment that may swap f16 for bf16 may swap back.
      const auto& back = pb::precision(a).accepts;
      EXPECT_NE(std::find(back.begin(), back.end(), p.dtype), back.end()) << p.dtype << " <-> " << a;
    }
    EXPECT_GT(p.in_bytes, 0);
    EXPECT_GT(p.unit_roundoff, 0.0);
  }
  EXPECT_THROW(pb::precision("fp16"), std::invalid_argument);  // the row key is f16
}

TEST(Precision, ToleranceFollowsTheRounding) {
  EXPECT_EQ(pb::precision_tolerance("f32", 768), pb::ref::dot_tolerance(768));
  EXPECT_DOUBLE_EQ(pb::precision_tolerance("bf16", 768), 4.0 * std::ldexp(1.0, -8));
  EXPECT_DOUBLE_EQ(pb::precision_tolerance("e4m3", 768), 0.25);
  EXPECT_DOUBLE_EQ(pb::precision_tolerance("f16", 768), 1e-2);
  // Looser as the rounding gets coarser, never tighter than FP32's own bound.
  EXPECT_LT(pb::precision_tolerance("f16", 4096), pb::precision_tolerance("bf16", 4096));
  EXPECT_LT(pb::precision_tolerance("bf16", 4096), pb::precision_tolerance("e4m3", 4096));
  for (const auto& p : pb::precisions())
    EXPECT_GE(pb::precision_tolerance(p.dtype, 100000), pb::ref::dot_tolerance(100000)) << p.dtype;
}

// Sparse tensor cores take, in every aligned group of 4 along K (2 for 32-bit inputs), at most 2 (1) non-zeros;
// cuSPARSELt's own pruning keeps the largest. Our N:M pruning must produce exactly that, row-major with K
// contiguous (the layout spmm_cusparselt.cu hands over), for K a multiple of the group (the library's rule).
TEST(Precision, NmPruningIsWhatSparseTensorCoresTake) {
  for (auto [n, m] : {std::pair{2, 4}, std::pair{1, 2}}) {
    const index_t M = 37, K = 64;
    std::vector<float> w(M * K);
    pb::fill_random(w, 3);
    const pb::Mask mask = pb::mask_nm(w, M, K, n, m);
    for (index_t i = 0; i < M; ++i)
      for (index_t g = 0; g < K; g += m) {
        int kept = 0;
        float smallest_kept = 2.0f, largest_dropped = 0.0f;
        for (index_t t = g; t < g + m; ++t) {
          const float a = std::fabs(w[i * K + t]);
          if (mask[i * K + t]) ++kept, smallest_kept = std::min(smallest_kept, a);
          else largest_dropped = std::max(largest_dropped, a);
        }
        EXPECT_EQ(kept, n) << "row " << i << " group " << g;
        EXPECT_GE(smallest_kept, largest_dropped) << "row " << i << " group " << g;
      }
    EXPECT_DOUBLE_EQ(pb::mask_sparsity(mask), 1.0 - double(n) / m);
  }
}

}  // namespace
