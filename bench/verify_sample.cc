// Which outputs the pre-timing oracle check covers (bench/verify_sample.h).
#include "verify_sample.h"

#include <algorithm>
#include <random>
#include <set>

namespace pb::bench {

std::vector<index_t> check_rows(index_t M, double macs_per_row) {
  std::vector<index_t> rows;
  if (M <= 0) return rows;
  if (double(M) * macs_per_row <= kOracleBudgetMacs || M <= 64) {
    for (index_t i = 0; i < M; ++i) rows.push_back(i);
    return rows;
  }
  // Beyond the budget: one seeded random row from every block of `block` consecutive rows (so a bug confined to
  // one register tile, thread slice or edge is still seen), plus the first and the last row.
  const index_t n = std::max<index_t>(64, static_cast<index_t>(kOracleBudgetMacs / std::max(1.0, macs_per_row)));
  const index_t block = (M + n - 1) / n;
  std::set<index_t> pick = {0, M - 1};
  std::mt19937_64 gen(7);
  for (index_t lo = 0; lo < M; lo += block) {
    const index_t len = std::min(block, M - lo);
    pick.insert(lo + static_cast<index_t>(gen() % static_cast<std::uint64_t>(len)));
  }
  return {pick.begin(), pick.end()};
}

std::vector<index_t> check_images(index_t N, double macs_per_image) {
  std::vector<index_t> imgs;
  if (double(N) * macs_per_image <= 4 * kOracleBudgetMacs) {
    for (index_t n = 0; n < N; ++n) imgs.push_back(n);
  } else {
    imgs = {0};
    if (N > 1) imgs.push_back(N - 1);
  }
  return imgs;
}

}  // namespace pb::bench
