// The guard (guard.h) wired into Google Benchmark. Each repetition is judged by the canaries just before and just
// after its own run: the canary runs when a row's function starts and the call before it ended a repetition (see
// invocation_starts), and when a row is reported. Judging a row by canaries taken only at its reports was wrong
// with --benchmark_enable_random_interleaving: Google Benchmark reports a row when its last repetition is done, so
// the two canaries framed the rows run since the last report, not the row's repetitions spread over the run (on the
// Zen 3 guest a goals run gave every repetition of a row the reading taken after its last one).
#pragma once
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "guard.h"

namespace pb::bench {

// What the guard says of one row: each repetition's reading in the order reported (empty where the row's calls
// were not seen: its reading is then the canaries around its report) and their median (median_guard), which
// judges the row as a whole, as the analysis in Python does.
struct RowVerdict {
  std::vector<RowGuard> reps;
  RowGuard summary;
};

class RowGuards {
 public:
  // The live guard: invocation_starts() below reports to it until it is destroyed.
  RowGuards(int threads, const GuardSettings& s);
  ~RowGuards();
  RowGuards(const RowGuards&) = delete;
  RowGuards& operator=(const RowGuards&) = delete;
  // A row's function is about to run `iters` iterations. Runs the canary first when the call before it ended a
  // repetition: it was another row's, or this row's at the same iteration count (repetitions after the first reuse
  // the first one's count, which grows from call to call within it).
  void invocation_starts(const std::string& row, std::int64_t iters);
  // Google Benchmark reported the row (run_name, with or without its /real_time suffix) and the iteration counts of
  // its repetitions, in order: runs the canary that closes its last call and pairs each repetition with its call. A
  // second report of the row (its aggregates; the file reporter after the console) finds it done and does nothing.
  void row_done(const std::string& run_name, const std::vector<std::int64_t>& rep_iters);
  const RowVerdict* find(const std::string& run_name) const;
  // The calm state over the rows closed so far (each row's median reading, as the analysis in Python sees them).
  CanaryReading calm() const;
  const GuardSettings& settings() const { return settings_; }

 private:
  struct Call {
    std::string row;
    std::int64_t iters = 0;
    CanaryReading before;
    CpuTimes before_times;
  };
  struct Closed {
    std::int64_t iters = 0;
    RowGuard guard;
  };
  void close_open();  // runs the canary: the reading after the open call (and before the next), filed with it
  RowGuard around(const CanaryReading& before, const CpuTimes& before_times, const std::string& row);

  Canary canary_;
  GuardSettings settings_;
  CanaryReading last_;
  CpuTimes last_times_;
  std::optional<Call> open_;                     // the last call started and not yet closed by a canary
  std::map<std::string, std::vector<Closed>> closed_;  // calls closed and not yet reported, per row
  std::map<std::string, RowVerdict> rows_;
};

// The iteration counts of a report's repetitions, in order (none in a report of aggregates).
std::vector<std::int64_t> repetition_iterations(const std::vector<benchmark::BenchmarkReporter::Run>& runs);

// Forwards to the live RowGuards, if there is one (bench_util.cc calls it from every registered row).
void invocation_starts(const std::string& row, std::int64_t iters);

// guard_clock_ghz, guard_write_gbs, guard_c2c_ns, guard_fma_gflops, guard_steal (where the kernel reports steal) and
// guard_suspect (0 or 1, judged against `calm`): each repetition its own, the mean and median of a row its summary.
void add_guard_counters(std::vector<benchmark::BenchmarkReporter::Run>& runs, const RowVerdict& v,
                        const CanaryReading& calm, const GuardSettings& s);

// Wraps the file reporter: keeps every row until the run ends, when the calm state of the whole run is known,
// then adds the guard counters (when there is a guard) and hands the rows to the JSON (or CSV, console) reporter.
// It also records the name of every row written, for the row descriptions appended to the JSON.
class GuardedFileReporter : public benchmark::BenchmarkReporter {
 public:
  GuardedFileReporter(std::unique_ptr<benchmark::BenchmarkReporter> inner, RowGuards* guards)
      : inner_(std::move(inner)), guards_(guards) {}
  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;
  const std::vector<std::string>& row_names() const { return names_; }  // run names, in the order written

 private:
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  RowGuards* guards_;
  std::vector<std::vector<Run>> held_;
  std::vector<std::string> names_;
};

}  // namespace pb::bench
