#include "prunebench/pick.h"

#include <algorithm>
#include <chrono>

namespace pb {

std::size_t fastest_by_trials(const std::vector<std::function<void()>>& runs, int rounds) {
  for (const auto& run : runs) run();
  // The best call of each, not the mean: the machine only ever adds time (interrupts, the other vCPU's neighbour).
  std::vector<double> best(runs.size(), 1e300);
  for (int round = 0; round < rounds; ++round)
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      runs[i]();
      best[i] = std::min(best[i], std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  return runs.empty() ? 0 : std::size_t(std::min_element(best.begin(), best.end()) - best.begin());
}

}  // namespace pb
