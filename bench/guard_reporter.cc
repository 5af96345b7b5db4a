#include "guard_reporter.h"

#include <algorithm>
#include <cstdlib>

#include "row_spec.h"

namespace pb::bench {

namespace {
// A row's thread count from its registered description (1 where it has none: naive, Eigen, GPU rows).
int row_threads(const std::string& run_name) {
  const auto* row = registered_row(run_name);
  if (!row) return 1;
  const auto& params = row->second["params"];
  const auto it = params.find("threads");
  return it == params.end() ? 1 : std::max(1, std::atoi(it->get<std::string>().c_str()));
}
}  // namespace

RowGuards::RowGuards(int threads, const GuardSettings& s) : canary_(threads), settings_(s) {
  last_ = canary_.measure();
  last_times_ = read_cpu_times();
}

void RowGuards::row_done(const std::string& run_name) {
  if (run_name == last_name_) return;
  const CpuTimes now_times = read_cpu_times();
  const CanaryReading now = canary_.measure();
  RowGuard g;
  // The better side: the higher rates, the shorter round trip (0, none measured, only where neither has one). The
  // FMA canary alone takes the worse side (guard.h): the shared core it detects halves it or leaves it alone, and
  // a row that starts in that state runs slow in every repetition while the canary before it read calm.
  const double c2c = last_.c2c_ns > 0 && now.c2c_ns > 0 ? std::min(last_.c2c_ns, now.c2c_ns)
                                                        : std::max(last_.c2c_ns, now.c2c_ns);
  g.canary = {std::max(last_.clock_ghz, now.clock_ghz), std::max(last_.write_gbs, now.write_gbs), c2c,
              std::min(last_.fma_gflops, now.fma_gflops)};
  g.steal_share = steal_share(last_times_, now_times);
  g.threads = row_threads(run_name);
  rows_[run_name] = g;
  last_ = now;
  last_times_ = read_cpu_times();  // the canary's own time is not the next row's
  last_name_ = run_name;
}

CanaryReading RowGuards::calm() const {
  std::vector<CanaryReading> seen;
  for (const auto& [name, g] : rows_) seen.push_back(g.canary);
  return calm_state(seen, settings_.fma_margin);
}

const RowGuard* RowGuards::find(const std::string& run_name) const {
  auto it = rows_.find(run_name);
  return it == rows_.end() ? nullptr : &it->second;
}

void add_guard_counters(std::vector<benchmark::BenchmarkReporter::Run>& runs, const RowGuard& g,
                        const CanaryReading& calm, const GuardSettings& s) {
  const bool suspect = !judge(g, calm, s).empty();
  for (auto& r : runs) {
    // A spread of a per-row constant means nothing: stddev and cv aggregates get no guard counters.
    if (r.run_type == benchmark::BenchmarkReporter::Run::RT_Aggregate && r.aggregate_name != "mean" &&
        r.aggregate_name != "median")
      continue;
    r.counters["guard_clock_ghz"] = benchmark::Counter(g.canary.clock_ghz);
    r.counters["guard_write_gbs"] = benchmark::Counter(g.canary.write_gbs);
    if (g.canary.c2c_ns > 0) r.counters["guard_c2c_ns"] = benchmark::Counter(g.canary.c2c_ns);
    r.counters["guard_fma_gflops"] = benchmark::Counter(g.canary.fma_gflops);
    if (g.steal_share >= 0) r.counters["guard_steal"] = benchmark::Counter(g.steal_share);
    r.counters["guard_suspect"] = benchmark::Counter(suspect ? 1.0 : 0.0);
  }
}

bool GuardedFileReporter::ReportContext(const Context& context) {
  // Google Benchmark pointed our streams at the output file; the reporter that writes is the inner one.
  inner_->SetOutputStream(&GetOutputStream());
  inner_->SetErrorStream(&GetErrorStream());
  return inner_->ReportContext(context);
}

void GuardedFileReporter::ReportRuns(const std::vector<Run>& runs) {
  if (runs.empty()) return;
  const std::string name = runs.front().run_name.str();
  if (guards_) guards_->row_done(name);
  if (names_.empty() || names_.back() != name) names_.push_back(name);
  held_.push_back(runs);
}

void GuardedFileReporter::Finalize() {
  const CanaryReading calm = guards_ ? guards_->calm() : CanaryReading{};
  for (auto& runs : held_) {
    if (const RowGuard* g = guards_ ? guards_->find(runs.front().run_name.str()) : nullptr)
      add_guard_counters(runs, *g, calm, guards_->settings());
    inner_->ReportRuns(runs);
  }
  held_.clear();
  inner_->Finalize();
}

}  // namespace pb::bench
