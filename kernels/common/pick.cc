#include "prunebench/pick.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "prunebench/peak.h"
#include "prunebench/types.h"

namespace pb {

namespace {
constexpr int kMaxCalmWaits = 10;
// Set when the threads still shared a core after kMaxCalmWaits tries (a machine whose threads always do, or a long
// spell of it): later picks then try once, not ten times, until a try finds them apart.
std::atomic<bool> g_sharing_persists{false};

std::vector<double> trials(const std::vector<std::function<void()>>& runs, int rounds) {
  // The best call of each, not the mean: the machine only ever adds time (interrupts, the other vCPU's neighbour).
  std::vector<double> best(runs.size(), 1e300);
  for (int round = 0; round < rounds; ++round)
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      runs[i]();
      best[i] = std::min(best[i], std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  return best;
}
}  // namespace

// ~0.5 ms a shot: on the Zen 3 guest, 300 probes of 2 threads against 1 read 0.80 at their 1st percentile, 0.98 at
// the median; shots of 0.13 ms read under 0.65 one time in twenty, the threads' wake-up in them.
double fma_rate_per_thread(int threads) {
  constexpr std::int64_t kSteps = 1 << 18;  // 12 ymm or 16 zmm FMAs a step
  const auto t0 = std::chrono::steady_clock::now();
  const PeakRun p = peak_openmp(Dtype::f32, kSteps, threads, 0.999, 0.001);  // converges to 1: no overflow
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  volatile double keep = p.checksum;
  (void)keep;
  return s > 0 ? p.flops / s / threads : 0;
}

bool threads_share_a_core(int threads) {
  if (threads < 2) return false;
  const double alone = fma_rate_per_thread(1);
  const double together = fma_rate_per_thread(threads);
  return together < kSharedCoreShare * alone;
}

std::size_t fastest_by_trials(const std::vector<std::function<void()>>& runs, int rounds, int threads,
                              bool* shared_during) {
  if (runs.empty()) return 0;
  for (const auto& run : runs) run();
  auto wait_for_calm = [&] {
    const int tries = g_sharing_persists ? 1 : kMaxCalmWaits;
    for (int i = 0; i < tries; ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!threads_share_a_core(threads)) {
        g_sharing_persists = false;
        return true;
      }
    }
    g_sharing_persists = true;
    return false;
  };
  const bool calm_before = threads < 2 || wait_for_calm();
  std::vector<double> best = trials(runs, rounds);
  bool shared = !calm_before;
  if (calm_before && threads >= 2 && threads_share_a_core(threads)) {  // it came during the trials: once more
    shared = !wait_for_calm();
    best = trials(runs, rounds);
  }
  if (shared_during) *shared_during = shared;
  return std::size_t(std::min_element(best.begin(), best.end()) - best.begin());
}

}  // namespace pb
