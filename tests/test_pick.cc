// Picking a kernel at set-up (kernels/common/pick.cc): the fastest candidate by its best call, and the check that
// keeps a pick from being made while the threads share a core.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "prunebench/pick.h"

namespace pb {
namespace {

TEST(Pick, TheCandidateWithTheShortestCallWins) {
  int calls[3] = {0, 0, 0};
  auto nap = [&](int i, int us) {
    return [&calls, i, us] {
      ++calls[i];
      std::this_thread::sleep_for(std::chrono::microseconds(us));
    };
  };
  EXPECT_EQ(fastest_by_trials({nap(0, 3000), nap(1, 300), nap(2, 1500)}, 3, 1), 1u);
  EXPECT_EQ(calls[0], 4);  // one warm-up call, then one per round
  EXPECT_EQ(fastest_by_trials({}), 0u);
}

TEST(Pick, OneThreadSharesNoCore) {
  EXPECT_FALSE(threads_share_a_core(1));
  bool shared = true;
  fastest_by_trials({[] {}}, 1, 1, &shared);
  EXPECT_FALSE(shared);
}

}  // namespace
}  // namespace pb
