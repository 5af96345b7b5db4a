// The disturbance guard (bench/guard.h): the verdict rule, the calm state, steal accounting and the canary.
#include <gtest/gtest.h>

#include "config.h"
#include "guard.h"

namespace pb::bench {
namespace {

RowGuard row(double ghz, double gbs, double steal = 0) {
  RowGuard g;
  g.canary = {ghz, gbs};
  g.steal_share = steal;
  return g;
}

TEST(Guard, CleanRowHasNoReason) {
  const GuardSettings s;
  EXPECT_EQ(judge(row(2.9, 40), {3.0, 44}, s), "");
  EXPECT_EQ(judge(row(2.71, 23), {3.0, 44}, s), "");  // inside both margins (10%, 50%)
}

TEST(Guard, SlowClockMemoryOrStealIsDisturbed) {
  const GuardSettings s;
  EXPECT_NE(judge(row(2.6, 40), {3.0, 44}, s).find("clock 2.60 GHz, 13% under"), std::string::npos);
  EXPECT_NE(judge(row(3.0, 20), {3.0, 44}, s).find("memory canary 20.0 GB/s, 55% under"), std::string::npos);
  EXPECT_NE(judge(row(3.0, 44, 0.08), {3.0, 44}, s).find("stole 8%"), std::string::npos);
  // Both at once: both reasons.
  const std::string both = judge(row(1.0, 10), {3.0, 44}, s);
  EXPECT_NE(both.find("clock"), std::string::npos);
  EXPECT_NE(both.find("memory"), std::string::npos);
  // Unknown steal (no column in /proc/stat) is not a reason.
  EXPECT_EQ(judge(row(3.0, 44, -1), {3.0, 44}, s), "");
}

TEST(Guard, FarCrossCoreRoundTripIsDisturbed) {
  GuardSettings s;
  RowGuard far = row(3.0, 44), near = row(3.0, 44), none = row(3.0, 44);
  far.canary.c2c_ns = 320;
  near.canary.c2c_ns = 100;  // 1.8x the calm 55 ns: inside twice
  const CanaryReading calm{3.0, 44, 55};
  EXPECT_EQ(judge(far, calm, s), "cross-core round trip 320 ns, 5.8x the run's calm 55 ns");
  EXPECT_EQ(judge(near, calm, s), "");
  EXPECT_EQ(judge(none, calm, s), "");                   // a one-thread canary measures none
  EXPECT_EQ(judge(far, CanaryReading{3.0, 44}, s), "");  // nor does the calm state of a one-thread run
  s.c2c_margin = 5;
  EXPECT_EQ(judge(far, calm, s), "");
}

TEST(Guard, HalvedFmaThroughputIsDisturbed) {
  // Two vCPUs on one physical core: the clock canary stays calm, the FMA canary halves.
  GuardSettings s;
  RowGuard shared = row(3.0, 44), calm_row = row(3.0, 44), none = row(3.0, 44);
  shared.threads = calm_row.threads = none.threads = 2;
  shared.canary.fma_gflops = 100;
  calm_row.canary.fma_gflops = 160;  // 20% under the calm 200: inside the 25% margin
  const CanaryReading calm{3.0, 44, 0, 200};
  EXPECT_EQ(judge(shared, calm, s), "FMA canary 100 GFLOP/s, 50% under the run's calm 200 GFLOP/s");
  RowGuard one_thread = shared;
  one_thread.threads = 1;  // one thread runs at its full rate on a shared core
  EXPECT_EQ(judge(one_thread, calm, s), "");
  EXPECT_EQ(judge(calm_row, calm, s), "");
  EXPECT_EQ(judge(none, calm, s), "");                       // a reading without the FMA canary says nothing
  EXPECT_EQ(judge(shared, CanaryReading{3.0, 44}, s), "");  // nor does a calm state without it
  s.fma_margin = 0.6;
  EXPECT_EQ(judge(shared, calm, s), "");
}

TEST(Guard, ThreadsSharingACoreAreDisturbedWhateverTheRunsCalmState) {
  // A run spent wholly on a shared core: its calm FMA state is the halved one, so only the share against one core
  // alone tells. Under pb::kSharedCoreShare (0.7) a row of two or more threads is disturbed.
  GuardSettings s;
  RowGuard shared = row(3.0, 44), apart = row(3.0, 44);
  shared.threads = apart.threads = 2;
  shared.canary.fma_gflops = apart.canary.fma_gflops = 126;
  shared.canary.fma_share = 0.63;
  apart.canary.fma_share = 0.72;  // over the line: a slow all-core clock, not a shared core
  const CanaryReading calm{3.0, 44, 0, 130};
  EXPECT_EQ(judge(shared, calm, s),
            "FMA canary: each core at 63% of one core's rate alone (under 70%: threads sharing a core)");
  EXPECT_EQ(judge(apart, calm, s), "");
  RowGuard one_thread = shared;
  one_thread.threads = 1;
  EXPECT_EQ(judge(one_thread, calm, s), "");
  shared.canary.fma_share = 0;  // not measured (a file or canary without it)
  EXPECT_EQ(judge(shared, calm, s), "");
}

TEST(Guard, MarginsComeFromTheSettings) {
  GuardSettings s;
  s.margin = 0.5;
  EXPECT_EQ(judge(row(2.0, 44), {3.0, 44}, s), "");
  s.margin = 0.2;
  EXPECT_NE(judge(row(2.0, 44), {3.0, 44}, s), "");
}

TEST(Guard, CalmStateIsTheNinetiethPercentile) {
  // numpy.quantile([1..10], 0.9) = 9.1: linear between order statistics, as scripts/pbtools/guard.py computes it.
  std::vector<CanaryReading> r;
  for (int i = 10; i >= 1; --i) r.push_back({double(i), 10.0 * i});
  const CanaryReading c = calm_state(r);
  EXPECT_DOUBLE_EQ(c.clock_ghz, 9.1);
  EXPECT_DOUBLE_EQ(c.write_gbs, 91.0);
  EXPECT_DOUBLE_EQ(calm_state({{2.0, 5.0}}).clock_ghz, 2.0);
  EXPECT_EQ(calm_state({}).clock_ghz, 0.0);
}

TEST(Guard, CalmRoundTripIsTheTenthPercentileOfThoseMeasured) {
  // numpy.quantile([10, 20, ..., 100], 0.1) = 19; readings without a round trip (one thread) do not count.
  std::vector<CanaryReading> r;
  for (int i = 10; i >= 1; --i) r.push_back({3.0, 40.0, 10.0 * i});
  r.push_back({3.0, 40.0, 0.0});
  EXPECT_DOUBLE_EQ(calm_state(r).c2c_ns, 19.0);
  EXPECT_EQ(calm_state({{3.0, 40.0}}).c2c_ns, 0.0);
}

TEST(Guard, CalmRoundTripLeavesOutTheSharedCore) {
  // Two vCPUs on one core: the shortest round trip (65 ns), read beside a halved FMA canary. Eight near readings
  // (100-170 ns) and three shared ones: the calm state is the near placement's 10th percentile, 107 ns (all eleven:
  // 65 ns, and a near row at 140 ns would be 2.2x it).
  std::vector<CanaryReading> r;
  for (int i = 0; i < 8; ++i) r.push_back({3.0, 40.0, 100.0 + 10 * i, 200.0});
  for (int i = 0; i < 3; ++i) r.push_back({3.0, 40.0, 65.0, 100.0});
  EXPECT_DOUBLE_EQ(calm_state(r).c2c_ns, 107.0);
  EXPECT_DOUBLE_EQ(calm_state(r, 0.6).c2c_ns, 65.0);  // a margin that takes the shared core for calm
  // No reading calm by its FMA canary (not possible by the 90th percentile, but older readings have none): all count.
  EXPECT_DOUBLE_EQ(calm_state({{3.0, 40.0, 65.0, 0.0}, {3.0, 40.0, 300.0, 0.0}}).c2c_ns, 88.5);
}

TEST(Guard, CalmFmaIsTheNinetiethPercentileOfThoseMeasured) {
  std::vector<CanaryReading> r;
  for (int i = 10; i >= 1; --i) r.push_back({3.0, 40.0, 0.0, 10.0 * i});
  r.push_back({3.0, 40.0, 0.0, 0.0});  // a reading without it does not count
  EXPECT_DOUBLE_EQ(calm_state(r).fma_gflops, 91.0);
  EXPECT_EQ(calm_state({{3.0, 40.0}}).fma_gflops, 0.0);
}

TEST(Guard, EachRepetitionIsTheCallThatRanItsIterationCount) {
  // The first repetition grows its count (1, 10, 120) and reports the last call; the later ones run 120 at once.
  EXPECT_EQ(match_repetitions({1, 10, 120, 120, 120}, {120, 120, 120}), (std::vector<int>{2, 3, 4}));
  // A fixed count: every call is a repetition.
  EXPECT_EQ(match_repetitions({50, 50}, {50, 50}), (std::vector<int>{0, 1}));
  // A repetition whose call was not seen matches nothing, and the next one still matches.
  EXPECT_EQ(match_repetitions({1, 8, 8}, {8, 9, 8}), (std::vector<int>{1, -1, 2}));
  EXPECT_EQ(match_repetitions({}, {5}), (std::vector<int>{-1}));
  EXPECT_TRUE(match_repetitions({1, 2}, {}).empty());
}

TEST(Guard, RowSummaryIsTheMedianOfEachReading) {
  RowGuard a = row(3.0, 40, 0.01), b = row(2.0, 20, 0.30), c = row(3.2, 44, -1), d = row(3.1, 42, 0.02);
  a.canary.c2c_ns = 100;
  b.canary.c2c_ns = 450;
  d.canary.c2c_ns = 110;
  a.canary.fma_gflops = 200;
  b.canary.fma_gflops = 100;
  c.canary.fma_gflops = 190;
  d.canary.fma_gflops = 205;
  a.threads = b.threads = c.threads = d.threads = 2;
  const RowGuard m = median_guard({a, b, c});
  EXPECT_DOUBLE_EQ(m.canary.clock_ghz, 3.0);
  EXPECT_DOUBLE_EQ(m.canary.write_gbs, 40);
  EXPECT_DOUBLE_EQ(m.canary.c2c_ns, 275);    // of the two measured (c has none)
  EXPECT_DOUBLE_EQ(m.canary.fma_gflops, 190);
  EXPECT_DOUBLE_EQ(m.steal_share, 0.155);    // of the two known
  EXPECT_EQ(m.threads, 2);
  // One disturbed repetition in four does not make the row's reading disturbed; it carries its own verdict.
  const CanaryReading calm{3.1, 42, 100, 200};
  EXPECT_NE(judge(b, calm, GuardSettings{}), "");
  EXPECT_EQ(judge(median_guard({a, b, c, d}), calm, GuardSettings{}), "");
  EXPECT_DOUBLE_EQ(median_guard({}).canary.clock_ghz, 0);
}

TEST(Guard, StealShareOfTheInterval) {
  EXPECT_DOUBLE_EQ(steal_share({10, 1000}, {30, 1400}), 0.05);
  EXPECT_EQ(steal_share({10, 1000}, {10, 1000}), -1);  // no time passed
  EXPECT_EQ(steal_share({-1, 1000}, {-1, 2000}), -1);  // no steal column
  const CpuTimes t = read_cpu_times();
  EXPECT_GT(t.total, 0);
  EXPECT_GE(t.steal, 0);  // every Linux since 2.6.11 reports it
}

TEST(Guard, CanaryMeasuresAClockFmaThroughputABandwidthAndARoundTrip) {
  Canary c(2);
  const CanaryReading r = c.measure();
  EXPECT_GT(r.clock_ghz, 0.1);
  EXPECT_LT(r.clock_ghz, 10.0);
  // Two threads of 4-32 f32 FMA lanes at 0.5-5 GHz: 1-640 GFLOP/s (2 flops a lane and FMA, 1-2 FMAs a cycle).
  EXPECT_GT(r.fma_gflops, 0.5);
  EXPECT_LT(r.fma_gflops, 2000.0);
  EXPECT_GT(r.write_gbs, 0.1);
  // A cache line's round trip between two threads: tens to hundreds of ns on separate cores; on one core (time
  // slices) the canary gives up after 5 ms, so the figure stays finite either way.
  EXPECT_GT(r.c2c_ns, 1.0);
  EXPECT_LT(r.c2c_ns, 1e8);
  EXPECT_EQ(Canary(1).measure().c2c_ns, 0.0);
}

TEST(Guard, ConfigKey) {
  const Config on = parse_config(nlohmann::json::parse(R"({"guard": {"margin": 0.2, "steal": 0.1}})"), "t", "config");
  EXPECT_TRUE(on.guard.enabled);
  EXPECT_DOUBLE_EQ(on.guard.margin, 0.2);
  EXPECT_DOUBLE_EQ(on.guard.memory_margin, 0.5);
  EXPECT_DOUBLE_EQ(on.guard.steal, 0.1);
  EXPECT_DOUBLE_EQ(on.guard.c2c_margin, 1.0);
  const Config c2c = parse_config(nlohmann::json::parse(R"({"guard": {"c2c_margin": 3}})"), "t", "config");
  EXPECT_DOUBLE_EQ(c2c.guard.c2c_margin, 3.0);
  EXPECT_DOUBLE_EQ(c2c.guard.spread, 0.5);
  EXPECT_DOUBLE_EQ(c2c.guard.fma_margin, 0.25);
  EXPECT_DOUBLE_EQ(
      parse_config(nlohmann::json::parse(R"({"guard": {"fma_margin": 0.4}})"), "t", "config").guard.fma_margin, 0.4);
  EXPECT_THROW(parse_config(nlohmann::json::parse(R"({"guard": {"fma_margin": 0}})"), "t", "config"), ConfigError);
  EXPECT_DOUBLE_EQ(parse_config(nlohmann::json::parse(R"({"guard": {"spread": 1}})"), "t", "config").guard.spread, 1.0);
  EXPECT_THROW(parse_config(nlohmann::json::parse(R"({"guard": {"spread": 0}})"), "t", "config"), ConfigError);
  EXPECT_THROW(parse_config(nlohmann::json::parse(R"({"guard": {"c2c_margin": 0}})"), "t", "config"), ConfigError);
  EXPECT_FALSE(parse_config(nlohmann::json::parse(R"({"guard": false})"), "t", "config").guard.enabled);
  EXPECT_TRUE(parse_config(nlohmann::json::parse("{}"), "t", "config").guard.enabled);
  EXPECT_THROW(parse_config(nlohmann::json::parse(R"({"guard": {"margins": 0.2}})"), "t", "config"), ConfigError);
  EXPECT_THROW(parse_config(nlohmann::json::parse(R"({"guard": {"margin": 2}})"), "t", "config"), ConfigError);
  EXPECT_THROW(parse_config(nlohmann::json::parse(R"({"guard": 3})"), "t", "config"), ConfigError);
}

}  // namespace
}  // namespace pb::bench
