// prunebench: the benchmark driver. Our flags choose the problem set and the output file; everything else is
// Google Benchmark's (--benchmark_filter, --benchmark_repetitions, ...).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "config.h"
#include "guard_reporter.h"
#include "prunebench/cpu.h"
#include "prunebench/registry.h"

namespace {

constexpr const char* kUsage = R"(usage: prunebench [--profile=quick|default|full] [--config=FILE] [--out=FILE]
                  [--list-kernels] [--print-profile=NAME] [--serve] [--help] [--version] [--benchmark_* flags]

Measures this machine's ceilings (peak FLOP/s, instruction latency, bandwidth and latency per memory level)
dense and pruned GEMM (naive, eigen, openmp, openblas) and convolution (+ onednn) under Google Benchmark.
Convolution: fp32, NCHW activations, KCRS filters, stride and padding; dilation 1 and groups 1 only.

  --profile=NAME        embedded problem set: quick (CI, ~1 min), default (new machine), full (everything),
                        gpu (the CUDA backends; rows skip with the reason where no GPU is visible)
                        [default: default]
  --config=FILE         your own problem set (JSON, same schema as the profiles; see --print-profile)
  --out=FILE            write Google Benchmark JSON to FILE, atomically (a temporary file renamed at the end;
                        nothing is left behind on failure or Ctrl-C)
  --list-kernels        print the kernel registry (op, backend, variant, availability) and exit
  --print-profile=NAME  print an embedded profile's JSON and exit (a starting point for --config)
  --serve               read one benchmark filter (a regex) per line from stdin, run the rows it matches, and write
                        their Google Benchmark JSON to stdout followed by a line holding only "%%END%%"; for
                        scripts/abab, which alternates two builds row by row without paying a process start per row
  --machine-id          print this machine's id (results/<machine-id>/, baselines) and exit
  --openblas-corename   print the core type OpenBLAS runs with here and exit (scripts/bench uses it)
  --version             print the version and exit
  --benchmark_*         passed to Google Benchmark, e.g. --benchmark_filter='gemm/openmp/.*';
                        --benchmark_out=FILE [--benchmark_out_format=json|csv|console] as in any Google Benchmark
                        binary (written atomically, like --out); --benchmark_min_time=0.5s (or 0.5; 100x needs
                        Google Benchmark 1.8+) in the form this library version takes

Benchmark names: <family>/<backend>[/<variant>]/<key>:<value>/... ; Google Benchmark appends /real_time to
rows timed by the wall clock. Counters: flops (useful FLOP/s), bytes_per_second (compulsory traffic), ai
(FLOP per byte), max_rel_err (vs the float64 oracle, checked before timing); guard_* (a ~12 ms canary after
every repetition: clock, FMA throughput, DRAM write speed, cross-core round trip, steal time; guard_suspect = 1
marks a repetition, or on a row's mean and median the row, measured while disturbed; the config's "guard" key sets
the margins or turns it off).
Exit status: 0 on success, 2 on a bad flag, profile, config or file.
)";

std::string g_tmp_out;  // removed if we are interrupted, so no half-written JSON is left behind

void on_signal(int sig) {
  if (!g_tmp_out.empty()) std::remove(g_tmp_out.c_str());
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Console output with a running count, so a long run shows where it is, and a line under each row the guard
// finds disturbed (judged against the calm state so far; the file's verdict uses the whole run's).
class ProgressReporter : public benchmark::ConsoleReporter {
 public:
  // Colour only on a terminal: a log file or a pipe gets plain text.
  ProgressReporter(std::size_t total, pb::bench::RowGuards* guards)
      : benchmark::ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular),
        total_(total),
        guards_(guards) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    if (runs.empty()) return;
    if (runs.front().run_type == Run::RT_Iteration) ++done_;
    for (const auto& r : runs) {
      if (r.run_type == Run::RT_Iteration && r.repetition_index <= 0) {
        GetOutputStream() << "[" << done_ << "/" << total_ << "] ";
      }
      PrintRunData(r);
    }
    // The row's first report (its repetitions, or its aggregates alone) is judged; the second adds nothing.
    const std::string name = runs.front().run_name.str();
    if (!guards_ || name == judged_) return;
    judged_ = name;
    guards_->row_done(name, pb::bench::repetition_iterations(runs));
    const std::string why = pb::bench::judge(guards_->find(name)->summary, guards_->calm(), guards_->settings());
    if (!why.empty()) GetOutputStream() << "    ^ disturbed: " << why << "\n";
  }

 private:
  std::size_t total_, done_ = 0;
  pb::bench::RowGuards* guards_;
  std::string judged_;
};

std::unique_ptr<benchmark::BenchmarkReporter> file_reporter(const std::string& format) {
  // Google Benchmark marks its CSV reporter deprecated but still ships it and --benchmark_out_format=csv selects it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (format == "csv") return std::make_unique<benchmark::CSVReporter>();
#pragma GCC diagnostic pop
  if (format == "console") return std::make_unique<benchmark::ConsoleReporter>(benchmark::ConsoleReporter::OO_None);
  return std::make_unique<benchmark::JSONReporter>();
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// The "prunebench_rows" member appended to a Google Benchmark JSON document: each written row's description
// (family, kernel, device, dtype, dense baseline, parameters; bench/row_spec.h) keyed by its name, so the scripts
// read a row's meaning instead of parsing its name. Inserted as text before the document's closing brace:
// Google Benchmark's own output stays byte for byte as it wrote it (it writes NaN for the spread of a constant
// counter, which a strict JSON parser would refuse).
std::string with_row_meta(const std::string& text, const std::vector<std::string>& run_names) {
  const auto close = text.find_last_of('}');
  if (close == std::string::npos) return text;
  nlohmann::ordered_json rows = nlohmann::ordered_json::object();
  for (const std::string& n : run_names)
    if (const auto* row = pb::bench::registered_row(n)) rows[row->first] = row->second;
  std::string body = text.substr(0, close);
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
  return body + ",\n  \"prunebench_rows\": " + rows.dump() + "\n}\n";
}

void add_row_meta(const std::string& path, const std::vector<std::string>& run_names) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  std::ofstream(path, std::ios::trunc) << with_row_meta(text.str(), run_names);
}

// --serve: the process stays up with its inputs and caches warm while a driver asks for one row after another.
// Each answer is one complete JSON document (context and the rows run), then the end marker. A filter that
// matches nothing gets a document with an empty benchmark list and an "error" key. The guard runs here as in a
// whole run (its canary after every repetition), so rows measured in pairs carry their cross-core round trip too and
// `scripts/compare --placement` can split them; its calm state is that of the rows this process served.
int serve(const pb::bench::Config& cfg) {
  std::unique_ptr<pb::bench::RowGuards> guards;
  if (cfg.guard.enabled) guards = std::make_unique<pb::bench::RowGuards>(pb::cpu::cores(), cfg.guard);
  std::string filter;
  while (std::getline(std::cin, filter)) {
    if (filter.empty()) continue;
    std::ostringstream json;
    std::size_t ran = 0;
    std::vector<std::string> names;
    {
      pb::bench::GuardedFileReporter reporter(std::make_unique<benchmark::JSONReporter>(), guards.get());
      reporter.SetOutputStream(&json);
      reporter.SetErrorStream(&std::cerr);
      ran = benchmark::RunSpecifiedBenchmarks(&reporter, filter);
      names = reporter.row_names();
    }
    if (ran == 0) json.str("{\"benchmarks\": [], \"error\": \"no benchmark matched\"}");
    std::cout << (ran ? with_row_meta(json.str(), names) : json.str()) << "\n%%END%%" << std::endl;
  }
  return 0;
}

// --benchmark_min_time in the form this Google Benchmark takes: 1.8 and later want a unit ("0.5s", or "100x"
// for an iteration count), 1.7 a bare number of seconds. Accepts either form from the user; "" if malformed.
std::string min_time_flag(std::string v) {
  const bool iters = !v.empty() && v.back() == 'x';
  if (!v.empty() && (v.back() == 's' || iters)) v.pop_back();
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(x > 0)) return {};
#if PB_BENCHMARK_MIN_TIME_UNITS
  return v + (iters ? "x" : "s");
#else
  if (iters) return {};  // an iteration count needs Google Benchmark 1.8
  return v;
#endif
}

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "prunebench: %s (see --help)\n", msg.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (const std::string bad = pb::cpu::isa_cap_error(); !bad.empty()) return usage_error(bad);
  pb::bench::apply_isa_cap();
  pb::bench::match_openblas_to_cpu(argv);
  std::string profile = "default", config_path, out_path, out_format = "json";
  bool list_kernels = false, serving = false;
  std::vector<std::string> passthrough;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag) { return a.substr(std::strlen(flag)); };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("prunebench %s\n", PB_VERSION);
      return 0;
    } else if (starts_with(a, "--profile=")) {
      profile = value("--profile=");
    } else if (starts_with(a, "--config=")) {
      config_path = value("--config=");
      if (config_path.empty()) return usage_error("--config needs a file");
    } else if (starts_with(a, "--out=")) {
      out_path = value("--out=");
      if (out_path.empty()) return usage_error("--out needs a file");
    } else if (a == "--machine-id") {
      std::printf("%s\n", pb::cpu::machine_id().c_str());
      return 0;
    } else if (a == "--openblas-corename") {
      std::printf("%s\n", pb::bench::openblas_corename().c_str());
      return 0;
    } else if (a == "--list-kernels") {
      list_kernels = true;
    } else if (a == "--serve") {
      serving = true;
    } else if (starts_with(a, "--print-profile=")) {
      const char* text = pb::bench::embedded_profile(value("--print-profile="));
      if (!text) return usage_error("unknown profile '" + value("--print-profile=") + "'");
      std::fputs(text, stdout);
      return 0;
    } else if (starts_with(a, "--benchmark_out=")) {
      out_path = value("--benchmark_out=");  // as --out: written to a temporary file, renamed at the end
    } else if (starts_with(a, "--benchmark_out_format=")) {
      out_format = value("--benchmark_out_format=");
      if (out_format != "json" && out_format != "csv" && out_format != "console")
        return usage_error("--benchmark_out_format must be json, csv or console, not '" + out_format + "'");
    } else if (starts_with(a, "--benchmark_min_time=")) {
      const std::string v = min_time_flag(value("--benchmark_min_time="));
      if (v.empty()) return usage_error("bad --benchmark_min_time '" + value("--benchmark_min_time=") + "'");
      passthrough.push_back("--benchmark_min_time=" + v);
    } else if (starts_with(a, "--benchmark_")) {
      passthrough.push_back(a);
    } else {
      return usage_error("unknown argument '" + a + "'");
    }
  }

  if (list_kernels) {
    for (const auto& k : pb::all_kernels()) {
      const std::string why = k.why_unavailable();
      std::printf("%-6s %-20s %s\n", k.op.c_str(), k.id().c_str(), why.empty() ? "available" : why.c_str());
    }
    return 0;
  }

  pb::bench::Config cfg;
  try {
    cfg = config_path.empty() ? pb::bench::load_profile(profile) : pb::bench::load_config_file(config_path);
  } catch (const pb::bench::ConfigError& e) {
    std::fprintf(stderr, "prunebench: error: %s\n", e.what());
    return 2;
  }

  if (serving && !out_path.empty()) return usage_error("--serve writes to stdout; drop --out");
  if (!out_path.empty()) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(out_path).parent_path();
    if (!dir.empty() && !fs::is_directory(dir)) return usage_error("--out: directory '" + dir.string() + "' does not exist");
    g_tmp_out = out_path + ".tmp." + std::to_string(::getpid());
    passthrough.push_back("--benchmark_out=" + g_tmp_out);
    passthrough.push_back("--benchmark_out_format=" + out_format);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
  }

  // The config's timing settings go first so the user's own --benchmark_min_time / _repetitions win.
  std::vector<std::string> store = {argv[0], "--benchmark_min_time=" + min_time_flag(std::to_string(cfg.min_time)),
                                    "--benchmark_repetitions=" + std::to_string(cfg.repetitions)};
  store.insert(store.end(), passthrough.begin(), passthrough.end());
  std::vector<char*> bargv;
  for (auto& s : store) bargv.push_back(s.data());
  bargv.push_back(nullptr);
  int bargc = static_cast<int>(store.size());
  benchmark::Initialize(&bargc, bargv.data());
  if (benchmark::ReportUnrecognizedArguments(bargc, bargv.data())) return 2;

  pb::bench::add_context(cfg);
  // Ceilings first: every later row is judged against them, and they are cheapest to lose if a run is cut.
  pb::bench::register_peak(cfg);
  pb::bench::register_memory(cfg);
  pb::bench::register_gemm(cfg);
  try {
    pb::bench::register_spmm(cfg);
    pb::bench::register_conv(cfg);
    pb::bench::register_gpu_rows(cfg);
  } catch (const pb::bench::ConfigError& e) {  // a bad .smtx/.npy named by the config
    std::fprintf(stderr, "prunebench: error: %s\n", e.what());
    if (!g_tmp_out.empty()) std::remove(g_tmp_out.c_str());
    return 2;
  }
  for (const auto& w : cfg.warnings) std::fprintf(stderr, "prunebench: warning: %s\n", w.c_str());

  if (serving) {
    const int rc = serve(cfg);
    benchmark::Shutdown();
    return rc;
  }

  std::string filter;
  for (const auto& a : passthrough)
    if (starts_with(a, "--benchmark_filter=")) filter = a.substr(std::strlen("--benchmark_filter="));
  std::unique_ptr<pb::bench::RowGuards> guards;
  if (cfg.guard.enabled) guards = std::make_unique<pb::bench::RowGuards>(pb::cpu::cores(), cfg.guard);
  ProgressReporter reporter(pb::bench::count_matching(filter), guards.get());
  std::size_t ran = 0;
  std::vector<std::string> written;  // rows in the file, for their descriptions
  if (!g_tmp_out.empty()) {
    pb::bench::GuardedFileReporter to_file(file_reporter(out_format), guards.get());
    ran = benchmark::RunSpecifiedBenchmarks(&reporter, &to_file);
    written = to_file.row_names();
  } else {
    ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  }
  benchmark::Shutdown();

  if (ran == 0) {  // nothing is written: an empty --out file would read as a run that measured nothing
    if (!g_tmp_out.empty()) std::remove(g_tmp_out.c_str());
    std::fprintf(stderr, "prunebench: error: no benchmark matched (check --benchmark_filter)\n");
    return 2;
  }
  if (!g_tmp_out.empty()) {
    if (out_format == "json") add_row_meta(g_tmp_out, written);
    std::error_code ec;
    std::filesystem::rename(g_tmp_out, out_path, ec);
    if (ec) {
      std::remove(g_tmp_out.c_str());
      std::fprintf(stderr, "prunebench: error: cannot write %s: %s\n", out_path.c_str(), ec.message().c_str());
      return 2;
    }
  }
  return 0;
}
