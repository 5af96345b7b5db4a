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

RowGuards* g_live = nullptr;
}  // namespace

std::vector<std::int64_t> repetition_iterations(const std::vector<benchmark::BenchmarkReporter::Run>& runs) {
  std::vector<std::int64_t> out;
  for (const auto& r : runs)
    if (r.run_type == benchmark::BenchmarkReporter::Run::RT_Iteration) out.push_back(r.iterations);
  return out;
}

void invocation_starts(const std::string& row, std::int64_t iters) {
  if (g_live) g_live->invocation_starts(row, iters);
}

RowGuards::RowGuards(int threads, const GuardSettings& s) : canary_(threads), settings_(s) {
  last_ = canary_.measure();
  last_times_ = read_cpu_times();
  g_live = this;
}

RowGuards::~RowGuards() {
  if (g_live == this) g_live = nullptr;
}

RowGuard RowGuards::around(const CanaryReading& before, const CpuTimes& before_times, const std::string& row) {
  const CpuTimes now_times = read_cpu_times();
  const CanaryReading now = canary_.measure();
  RowGuard g;
  // The better side: the higher rates, the shorter round trip (0, none measured, only where neither has one). The
  // FMA canary's two readings alone take the worse side (guard.h): the shared core they detect halves the rate or
  // leaves it alone, and a row that starts in that state runs slow in every repetition while the canary before it
  // read calm.
  const double c2c = before.c2c_ns > 0 && now.c2c_ns > 0 ? std::min(before.c2c_ns, now.c2c_ns)
                                                         : std::max(before.c2c_ns, now.c2c_ns);
  const double share = before.fma_share > 0 && now.fma_share > 0 ? std::min(before.fma_share, now.fma_share)
                                                                 : std::max(before.fma_share, now.fma_share);
  g.canary = {std::max(before.clock_ghz, now.clock_ghz), std::max(before.write_gbs, now.write_gbs), c2c,
              std::min(before.fma_gflops, now.fma_gflops), share};
  g.steal_share = steal_share(before_times, now_times);
  g.threads = row_threads(row);
  last_ = now;
  last_times_ = read_cpu_times();  // the canary's own time is not the next call's
  return g;
}

void RowGuards::close_open() {
  const Call call = *open_;
  open_.reset();
  closed_[call.row].push_back({call.iters, around(call.before, call.before_times, call.row)});
}

void RowGuards::invocation_starts(const std::string& row, std::int64_t iters) {
  if (open_ && (open_->row != row || open_->iters == iters)) close_open();
  // A call that grows the first repetition's count follows another with no canary between: its "before" is the
  // reading before the first of them.
  if (!open_) open_ = Call{row, iters, last_, last_times_};
  else open_->iters = iters;
}

void RowGuards::row_done(const std::string& run_name, const std::vector<std::int64_t>& rep_iters) {
  const std::string row = row_name_of(run_name);
  if (open_ && open_->row == row) close_open();
  const auto it = closed_.find(row);
  if (it == closed_.end()) {
    if (rows_.count(row)) return;  // reported before: its aggregates, or the second reporter
    // No call seen (a function not registered through register_row): the canaries around its report, as a whole.
    rows_[row] = {{}, around(last_, last_times_, row)};
    return;
  }
  std::vector<long long> calls;
  for (const auto& c : it->second) calls.push_back(c.iters);
  const std::vector<int> which = match_repetitions(calls, {rep_iters.begin(), rep_iters.end()});
  RowVerdict v;
  for (const int i : which) v.reps.push_back(it->second[i >= 0 ? i : calls.size() - 1].guard);
  v.summary = median_guard(v.reps.empty() ? std::vector<RowGuard>{it->second.back().guard} : v.reps);
  rows_[row] = v;
  closed_.erase(it);
}

CanaryReading RowGuards::calm() const {
  std::vector<CanaryReading> seen;
  for (const auto& [name, v] : rows_) seen.push_back(v.summary.canary);
  return calm_state(seen, settings_.fma_margin);
}

const RowVerdict* RowGuards::find(const std::string& run_name) const {
  auto it = rows_.find(row_name_of(run_name));
  return it == rows_.end() ? nullptr : &it->second;
}

namespace {
void set_guard_counters(benchmark::BenchmarkReporter::Run& r, const RowGuard& g, bool suspect) {
  r.counters["guard_clock_ghz"] = benchmark::Counter(g.canary.clock_ghz);
  r.counters["guard_write_gbs"] = benchmark::Counter(g.canary.write_gbs);
  if (g.canary.c2c_ns > 0) r.counters["guard_c2c_ns"] = benchmark::Counter(g.canary.c2c_ns);
  r.counters["guard_fma_gflops"] = benchmark::Counter(g.canary.fma_gflops);
  if (g.canary.fma_share > 0) r.counters["guard_fma_share"] = benchmark::Counter(g.canary.fma_share);
  if (g.steal_share >= 0) r.counters["guard_steal"] = benchmark::Counter(g.steal_share);
  r.counters["guard_suspect"] = benchmark::Counter(suspect ? 1.0 : 0.0);
}
}  // namespace

void add_guard_counters(std::vector<benchmark::BenchmarkReporter::Run>& runs, const RowVerdict& v,
                        const CanaryReading& calm, const GuardSettings& s) {
  std::size_t rep = 0;
  for (auto& r : runs) {
    if (r.run_type == benchmark::BenchmarkReporter::Run::RT_Aggregate) {
      // A spread of per-repetition readings means nothing: stddev and cv aggregates get no guard counters.
      if (r.aggregate_name == "mean" || r.aggregate_name == "median")
        set_guard_counters(r, v.summary, !judge(v.summary, calm, s).empty());
      continue;
    }
    const RowGuard& g = rep < v.reps.size() ? v.reps[rep] : v.summary;
    ++rep;
    set_guard_counters(r, g, !judge(g, calm, s).empty());
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
  if (guards_) guards_->row_done(name, repetition_iterations(runs));
  if (names_.empty() || names_.back() != name) names_.push_back(name);
  held_.push_back(runs);
}

void GuardedFileReporter::Finalize() {
  const CanaryReading calm = guards_ ? guards_->calm() : CanaryReading{};
  for (auto& runs : held_) {
    if (const RowVerdict* g = guards_ ? guards_->find(runs.front().run_name.str()) : nullptr)
      add_guard_counters(runs, *g, calm, guards_->settings());
    inner_->ReportRuns(runs);
  }
  held_.clear();
  inner_->Finalize();
}

}  // namespace pb::bench
