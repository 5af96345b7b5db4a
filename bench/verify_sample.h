// Which outputs the float64 oracle checks before a row is timed: all of them while the oracle is cheap, else a
// sample that still reaches every block of rows and every output channel. Kept apart from Google Benchmark so
// the tests can check the choice itself.
#pragma once
#include <vector>

#include "prunebench/types.h"

namespace pb::bench {

// What the float64 oracle may cost per row before timing (multiply-adds, ~50 ms on one core): within it every
// output element is checked.
constexpr double kOracleBudgetMacs = 6.4e7;
// Rows of an M-row output checked against the float64 oracle before timing, each costing macs_per_row (N * K
// for a product): all of them while M * macs_per_row fits kOracleBudgetMacs; beyond it one random row of every
// block of consecutive rows (as many blocks as the budget pays for, at least 64) plus the first and the last.
// Every column and the whole K reduction of those rows are checked.
std::vector<index_t> check_rows(index_t M, double macs_per_row);

// Images of an N-image convolution the oracle checks (every output channel and position of each): all of them
// while N * macs_per_image fits 4 x kOracleBudgetMacs, else the first and the last.
std::vector<index_t> check_images(index_t N, double macs_per_image);

}  // namespace pb::bench
