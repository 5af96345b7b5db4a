#include "guard.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "prunebench/cpu.h"
#include "prunebench/memory.h"
#include "prunebench/peak.h"
#include "prunebench/pick.h"

namespace pb::bench {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median3(double a, double b, double c) { return std::max(std::min(a, b), std::min(std::max(a, b), c)); }

std::string fmt(const char* f, double a, double b, double c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

}  // namespace

std::string judge(const RowGuard& row, const CanaryReading& calm, const GuardSettings& s) {
  std::string why;
  auto add = [&](const std::string& w) { why += (why.empty() ? "" : "; ") + w; };
  if (calm.clock_ghz > 0 && row.canary.clock_ghz < calm.clock_ghz * (1 - s.margin))
    add(fmt("clock %.2f GHz, %.0f%% under the run's calm %.2f GHz", row.canary.clock_ghz,
            100 * (1 - row.canary.clock_ghz / calm.clock_ghz), calm.clock_ghz));
  if (calm.write_gbs > 0 && row.canary.write_gbs < calm.write_gbs * (1 - s.memory_margin))
    add(fmt("memory canary %.1f GB/s, %.0f%% under the run's calm %.1f GB/s", row.canary.write_gbs,
            100 * (1 - row.canary.write_gbs / calm.write_gbs), calm.write_gbs));
  if (row.threads >= 2 && calm.fma_gflops > 0 && row.canary.fma_gflops > 0 &&
      row.canary.fma_gflops < calm.fma_gflops * (1 - s.fma_margin))
    add(fmt("FMA canary %.0f GFLOP/s, %.0f%% under the run's calm %.0f GFLOP/s", row.canary.fma_gflops,
            100 * (1 - row.canary.fma_gflops / calm.fma_gflops), calm.fma_gflops));
  if (row.threads >= 2 && row.canary.fma_share > 0 && row.canary.fma_share < kSharedCoreShare)
    add(fmt("FMA canary: each core at %.0f%% of one core's rate alone (under %.0f%%: threads sharing a core)",
            100 * row.canary.fma_share, 100 * kSharedCoreShare, 0));
  if (calm.c2c_ns > 0 && row.canary.c2c_ns > calm.c2c_ns * (1 + s.c2c_margin))
    add(fmt("cross-core round trip %.0f ns, %.1fx the run's calm %.0f ns", row.canary.c2c_ns,
            row.canary.c2c_ns / calm.c2c_ns, calm.c2c_ns));
  if (row.steal_share > s.steal)
    add(fmt("the host stole %.0f%% of the CPU time (limit %.0f%%)", 100 * row.steal_share, 100 * s.steal, 0));
  return why;
}

namespace {
// The p-th quantile by linear interpolation between order statistics (numpy's default, so Python agrees).
double quantile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const std::size_t i = static_cast<std::size_t>(pos);
  const double f = pos - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}
}  // namespace

std::vector<int> match_repetitions(const std::vector<long long>& invocation_iters,
                                   const std::vector<long long>& rep_iters) {
  std::vector<int> out;
  std::size_t next = 0;
  for (const long long want : rep_iters) {
    std::size_t i = next;
    while (i < invocation_iters.size() && invocation_iters[i] != want) ++i;
    if (i < invocation_iters.size()) {
      out.push_back(static_cast<int>(i));
      next = i + 1;
    } else {
      out.push_back(-1);  // the next repetition may still match from where this one started
    }
  }
  return out;
}

RowGuard median_guard(const std::vector<RowGuard>& reps) {
  RowGuard out;
  if (reps.empty()) return out;
  auto median = [&](auto get, bool (*keep)(double)) {
    std::vector<double> v;
    for (const auto& r : reps)
      if (keep(get(r))) v.push_back(get(r));
    if (v.empty()) return get(reps.front());
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  };
  auto positive = [](double x) { return x > 0; };
  auto known = [](double x) { return x >= 0; };
  out.canary.clock_ghz = median([](const RowGuard& r) { return r.canary.clock_ghz; }, +positive);
  out.canary.write_gbs = median([](const RowGuard& r) { return r.canary.write_gbs; }, +positive);
  out.canary.c2c_ns = median([](const RowGuard& r) { return r.canary.c2c_ns; }, +positive);
  out.canary.fma_gflops = median([](const RowGuard& r) { return r.canary.fma_gflops; }, +positive);
  out.canary.fma_share = median([](const RowGuard& r) { return r.canary.fma_share; }, +positive);
  out.steal_share = median([](const RowGuard& r) { return r.steal_share; }, +known);
  out.threads = reps.front().threads;
  return out;
}

CanaryReading calm_state(const std::vector<CanaryReading>& readings, double fma_margin) {
  std::vector<double> clock, write, c2c, c2c_all, fma;
  for (const auto& r : readings) {
    clock.push_back(r.clock_ghz);
    write.push_back(r.write_gbs);
    if (r.fma_gflops > 0) fma.push_back(r.fma_gflops);
  }
  const double calm_fma = quantile(fma, 0.9);
  for (const auto& r : readings)
    if (r.c2c_ns > 0) {
      c2c_all.push_back(r.c2c_ns);
      if (r.fma_gflops <= 0 || r.fma_gflops >= calm_fma * (1 - fma_margin)) c2c.push_back(r.c2c_ns);
    }
  return {quantile(clock, 0.9), quantile(write, 0.9), quantile(c2c.empty() ? c2c_all : c2c, 0.1), calm_fma};
}

CpuTimes read_cpu_times() {
  CpuTimes t;
  std::ifstream f("/proc/stat");
  std::string line;
  if (!std::getline(f, line) || line.rfind("cpu ", 0) != 0) return t;
  std::istringstream in(line.substr(4));
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already inside user.
  long long v[8] = {};
  int n = 0;
  while (n < 8 && in >> v[n]) ++n;
  for (int i = 0; i < n; ++i) t.total += v[i];
  if (n == 8) t.steal = v[7];
  return t;
}

double steal_share(const CpuTimes& from, const CpuTimes& to) {
  if (from.steal < 0 || to.steal < 0 || to.total <= from.total) return -1;
  return static_cast<double>(to.steal - from.steal) / static_cast<double>(to.total - from.total);
}

// The memory canary writes with non-temporal stores, which go to DRAM whatever the caches hold: a read of a
// buffer near the last-level cache's size measured 27 to 51 GB/s here depending on what the row before it
// had evicted, while the streaming write does not depend on the cache state. 16 MiB, or the L2 caches of all
// cores if that is more.
Canary::Canary(int threads) : threads_(std::max(1, threads)) {
  const std::int64_t l2 = cpu::cache_bytes(2) * cpu::cores();
  const std::size_t bytes = static_cast<std::size_t>(std::max<std::int64_t>(64 << 20, l2));
  buf_.resize(bytes / sizeof(double));
  BwArgs a{buf_.data(), nullptr, nullptr, buf_.size(), 1, threads_, 1.0};
  bw_init(a);
  measure();  // wakes the cores and faults in nothing new later
}

CanaryReading Canary::measure() {
  constexpr std::int64_t kSteps = 1 << 22;     // ~0.3-0.5 ms at 2-3.5 GHz
  double clock[3], write[3], fma[3], share[3] = {};
  double sink = 0;
  for (int shot = 0; shot < 3; ++shot) {
    double slowest = 1e30;
    std::int64_t chains = 0;
#pragma omp parallel num_threads(threads_) reduction(min : slowest) reduction(+ : chains)
    {
      const auto t0 = std::chrono::steady_clock::now();
      chains += latency_chain_i64(kSteps, omp_get_thread_num(), 3);
      slowest = std::min(slowest, kSteps / seconds_since(t0) / 1e9);
    }
    clock[shot] = slowest;
    sink += static_cast<double>(chains);
    const double per_thread = fma_rate_per_thread(threads_);
    fma[shot] = per_thread * threads_ / 1e9;
    if (threads_ >= 2) {  // one core alone, right after: fma_share
      const double alone = fma_rate_per_thread(1);
      share[shot] = alone > 0 ? per_thread / alone : 0;
    }
    BwArgs a{buf_.data(), nullptr, nullptr, buf_.size(), 1, threads_, 0.0};
    const auto t0 = std::chrono::steady_clock::now();
    sink += bw_openmp(BwOp::write_nt, a);
    write[shot] = static_cast<double>(buf_.size() * sizeof(double)) / seconds_since(t0) / 1e9;
  }
  volatile double keep = sink;
  (void)keep;
  double c2c = 0;
  if (threads_ >= 2) {
    const double a = round_trip_ns(), b = round_trip_ns(), c = round_trip_ns();
    c2c = median3(a, b, c);
  }
  return {median3(clock[0], clock[1], clock[2]), median3(write[0], write[1], write[2]), c2c,
          median3(fma[0], fma[1], fma[2]), median3(share[0], share[1], share[2])};
}

// Threads 0 and 1 pass one cache line back and forth: thread 0 writes an odd count and waits for the next even
// one, which thread 1 writes on seeing it. Thread 0 stops after kTrips round trips or kMaxSeconds (two threads
// time-sliced on one core take a scheduler tick per trip), even in the middle of a wait, by writing -1; thread 1
// returns the ball with a compare-and-swap, so a -1 it did not see is never overwritten, and stops on seeing it.
double Canary::round_trip_ns() {
  constexpr std::int64_t kTrips = 2000;
  constexpr double kMaxSeconds = 0.005;
  alignas(64) std::atomic<std::int64_t> ball{0};
  double ns = 0;
#pragma omp parallel num_threads(2)
  if (omp_get_num_threads() == 2) {
    if (omp_get_thread_num() == 0) {
      const auto t0 = std::chrono::steady_clock::now();
      std::int64_t trips = 0;
      bool late = false;
      while (trips < kTrips && !late) {
        ball.store(2 * trips + 1, std::memory_order_release);
        for (std::int64_t spin = 1; ball.load(std::memory_order_acquire) != 2 * trips + 2; ++spin)
          if (spin % 1024 == 0 && seconds_since(t0) > kMaxSeconds) {
            late = true;
            break;
          }
        if (!late) ++trips;
      }
      ns = seconds_since(t0) * 1e9 / static_cast<double>(std::max<std::int64_t>(trips, 1));
      ball.store(-1, std::memory_order_release);
    } else {
      for (std::int64_t i = 0;; ++i) {
        std::int64_t v;
        while ((v = ball.load(std::memory_order_acquire)) != 2 * i + 1 && v != -1) {
        }
        if (v == -1 || !ball.compare_exchange_strong(v, 2 * i + 2, std::memory_order_acq_rel)) break;
      }
    }
  }
  return ns;
}

}  // namespace pb::bench
