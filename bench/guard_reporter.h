// The guard (guard.h) wired into Google Benchmark's reporting: Google Benchmark reports each row when all its
// repetitions are done, to the console first and then to the file, so the first report of a new row is the
// moment to run the canary that closes it (and opens the next one).
#pragma once
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "guard.h"

namespace pb::bench {

class RowGuards {
 public:
  RowGuards(int threads, const GuardSettings& s);
  // Closes the row named run_name (Google Benchmark's run_name, without aggregate suffixes): runs the canary and
  // files the better of it and the one before, with the steal share since then. A second call for the same row
  // (the file reporter after the console) does nothing.
  void row_done(const std::string& run_name);
  // --serve: the next request may run the row just closed again; it is closed anew then.
  void new_request() { last_name_.clear(); }
  const RowGuard* find(const std::string& run_name) const;
  // The calm state over the rows closed so far (each row's canary reading, as the analysis in Python sees them).
  CanaryReading calm() const;
  const GuardSettings& settings() const { return settings_; }

 private:
  Canary canary_;
  GuardSettings settings_;
  CanaryReading last_;
  CpuTimes last_times_;
  std::string last_name_;
  std::map<std::string, RowGuard> rows_;
};

// guard_clock_ghz, guard_write_gbs, guard_steal (where the kernel reports steal) and guard_suspect (0 or 1,
// judged against `calm`) on every repetition and on the mean and median of a row.
void add_guard_counters(std::vector<benchmark::BenchmarkReporter::Run>& runs, const RowGuard& g,
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
