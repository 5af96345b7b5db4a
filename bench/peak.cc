// Arithmetic ceilings: peak/<backend>/fma/dtype:<d>/threads:<T> and latency_op/naive/<op>/dtype:<d>.
//
// Cache state: irrelevant — everything lives in registers. Peak rows count 2 FLOPs per FMA lane (naive: a
// multiply and an add, also 2). Latency rows report ns_per_op and cycles_per_op; cycles come from this run's
// own clock measurement (a dependent chain of 64-bit integer adds, 1 cycle each on every x86 and Arm core since
// the 1990s), not from a nominal frequency that turbo and power limits make wrong.
#include <chrono>
#include <cmath>

#include "bench_util.h"
#include "prunebench/peak.h"

namespace pb::bench {

namespace {

Dtype parse_dtype(const std::string& s) { return s == "f64" ? Dtype::f64 : Dtype::f32; }

// Steps per benchmark iteration: ~1-10 ms of work, long enough that loop entry and thread wake-up vanish.
constexpr std::int64_t kPeakSteps = 1 << 20;
constexpr std::int64_t kLatSteps = 1 << 22;

void run_peak(benchmark::State& st, const PeakKernel& k, Dtype dt, int threads) {
  if (skip_if_unavailable(st, k.info.id(), k.info.why_unavailable())) return;
  // b = 1 - 2^-20, c = 2^-20: every chain converges to 1 and stays a normal number forever; no denormals.
  const double b = 1.0 - std::ldexp(1.0, -20), c = std::ldexp(1.0, -20);
  double flop = 0.0, check = 0.0;
  for (auto _ : st) {
    const PeakRun r = k.run(dt, kPeakSteps, threads, b, c);
    flop = r.flops;
    check += r.checksum;
  }
  benchmark::DoNotOptimize(check);
  st.counters["flops"] = benchmark::Counter(flop, benchmark::Counter::kIsIterationInvariantRate);
}

void run_latency(benchmark::State& st, const LatKernel& k, Dtype dt) {
  if (skip_if_unavailable(st, k.info.id(), k.info.why_unavailable())) return;
  // Values chosen so the chain stays normal and finite over 2^22 steps (mul/div by 1 +- 2^-23 drift slowly).
  const double b = 1.0 + std::ldexp(1.0, -23), c = std::ldexp(1.0, -20);
  double x = 1.0;
  for (auto _ : st) x = latency_chain(k.op, dt, kLatSteps, x, b, c);
  benchmark::DoNotOptimize(x);
  using C = benchmark::Counter;
  st.counters["ns_per_op"] = C(kLatSteps * 1e-9, C::kIsIterationInvariantRate | C::kInvert);
  st.counters["cycles_per_op"] = C(kLatSteps / (measured_clock_ghz() * 1e9), C::kIsIterationInvariantRate | C::kInvert);
}

void run_clock(benchmark::State& st) {
  std::int64_t x = 1;
  for (auto _ : st) x = latency_chain_i64(kLatSteps, x, 3);
  benchmark::DoNotOptimize(x);
  using C = benchmark::Counter;
  st.counters["ns_per_op"] = C(kLatSteps * 1e-9, C::kIsIterationInvariantRate | C::kInvert);
  st.counters["cycles_per_op"] = C(kLatSteps / (measured_clock_ghz() * 1e9), C::kIsIterationInvariantRate | C::kInvert);
}

}  // namespace

double measured_clock_ghz() {
  static const double ghz = [] {
    const std::int64_t steps = 1 << 24;
    double best = 1e30;
    std::int64_t x = 1;
    for (int r = 0; r < 7; ++r) {  // best of 7: the first runs also wake the core up from a low clock
      const auto t0 = std::chrono::steady_clock::now();
      x = latency_chain_i64(steps, x, 3);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    benchmark::DoNotOptimize(x);
    return steps / best / 1e9;
  }();
  return ghz;
}

void register_peak(const Config& c) {
  if (c.peak.enabled) {
    for (const auto& dts : c.peak.dtypes) {
      for (const auto& k : peak_kernels()) {
        for (int t : c.threads) {
          if (!k.threaded && t != 1) continue;
          register_row(c, RowSpec("peak", k.info.id()).p("dtype", dts).p("threads", t),
                       [&k, dt = parse_dtype(dts), t](benchmark::State& st) { run_peak(st, k, dt, t); });
        }
      }
    }
  }
  if (c.latency_op.enabled) {
    register_row(c, RowSpec("latency_op", "naive/add").p("dtype", "i64"), run_clock);
    for (const auto& k : latency_kernels()) {
      if (std::find(c.latency_op.ops.begin(), c.latency_op.ops.end(), k.info.variant) == c.latency_op.ops.end())
        continue;
      for (const auto& dts : c.latency_op.dtypes)
        register_row(c, RowSpec("latency_op", k.info.id()).p("dtype", dts),
                     [&k, dt = parse_dtype(dts)](benchmark::State& st) { run_latency(st, k, dt); });
    }
  }
}

}  // namespace pb::bench
