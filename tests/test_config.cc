// Config validation, and the benchmark binary's contract: names, counters and context keys that scripts/ and CI
// rely on, exit codes on bad input, and atomic --out.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <vector>
#include <string>

#include "config.h"
#include "prunebench/cpu.h"
#include "prunebench/gemm.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using pb::bench::ConfigError;
using pb::bench::parse_config;

std::string error_of(const std::string& text) {
  try {
    parse_config(json::parse(text), "t.json", "config");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, EmbeddedProfilesParse) {
  for (const auto& name : pb::bench::profile_names()) {
    const auto c = pb::bench::load_profile(name);
    EXPECT_FALSE(c.threads.empty()) << name;
    if (name == "gpu") {
      EXPECT_TRUE(c.gpu.enabled && !c.gpu.gemm.empty() && !c.gpu.spmm.empty());
    } else {
      EXPECT_FALSE(c.gemm.empty()) << name;
      EXPECT_TRUE(c.peak.enabled && c.mem_bw.enabled && c.mem_lat.enabled && !c.spmm.empty() && !c.conv.empty()) << name;
    }
  }
  EXPECT_THROW(pb::bench::load_profile("fast"), ConfigError);
}

TEST(Config, AcceptsTheDesignExample) {
  auto c = parse_config(json::parse(R"({"threads": [2, 1, 2], "gemm": [{"M": 2048, "N": 2048, "K": 2048}]})"),
                        "t.json", "config");
  ASSERT_EQ(c.threads.size(), 2u);  // sorted, duplicates dropped
  EXPECT_EQ(c.threads[0], 1);
  EXPECT_EQ(c.gemm.at(0).K, 2048);
}

TEST(Config, ErrorsNameTheKeyAndReason) {
  EXPECT_EQ(error_of(R"({"gemm": [{"M": 1, "N": 2, "K": 3, "Q": 4}]})"),
            "t.json: gemm[0].Q: unknown key (allowed: K, M, N)");
  EXPECT_EQ(error_of(R"({"gemm": [{"M": 1, "N": 2}]})"), "t.json: gemm[0]: missing key K");
  EXPECT_EQ(error_of(R"({"gemm": [{"M": 0, "N": 2, "K": 3}]})"), "t.json: gemm[0].M: 0 is out of range [1, 1048576]");
  EXPECT_EQ(error_of(R"({"gemm": [{"M": "big", "N": 2, "K": 3}]})"),
            "t.json: gemm[0].M: expected an integer, got \"big\"");
  EXPECT_EQ(error_of(R"({"threads": []})"), "t.json: threads: expected a non-empty array of thread counts");
  EXPECT_EQ(error_of(R"({"threads": [0]})"), "t.json: threads[0]: 0 is out of range [1, 4096]");
  EXPECT_NE(error_of(R"({"spam": 1})").find("spam: unknown key"), std::string::npos);
  EXPECT_NE(error_of(R"([1, 2])").find("expected an object"), std::string::npos);
  EXPECT_EQ(error_of(R"({"_comment": "documentation is allowed"})"), "");
  EXPECT_EQ(error_of(R"({"conv": [{"C": 4, "H": 8, "W": 8, "K": 4, "R": 3, "S": 3, "pattern": ["random"]}]})"),
            "t.json: conv[0].pattern[0]: \"random\" is not a conv pattern (magnitude, filters, channels, "
            "block<r>x<c>, <n>:<m>)");
  EXPECT_EQ(error_of(R"({"conv": [{"C": 4, "H": 2, "W": 8, "K": 4, "R": 3, "S": 3}]})"),
            "t.json: conv[0]: the filter is larger than the padded input");
  EXPECT_EQ(error_of(R"({"conv": [{"C": 4, "H": 8, "W": 8, "K": 4, "R": 3, "S": 3, "pattern": ["block4x4", "2:4"]}]})"), "");
}

TEST(Config, RefusesSizesThatDoNotFitInMemory) {
  const std::string e = error_of(R"({"gemm": [{"M": 1048576, "N": 1048576, "K": 1048576}]})");
  EXPECT_NE(e.find("more than half of the"), std::string::npos) << e;
}

TEST(Config, FileErrors) {
  const fs::path dir = fs::temp_directory_path() / ("pb_cfg_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "trunc.json") << R"({"gemm": [{"M": 1,)";
  try {
    pb::bench::load_config_file((dir / "trunc.json").string());
    ADD_FAILURE() << "truncated file accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pb::bench::load_config_file((dir / "missing.json").string()), ConfigError);
  fs::remove_all(dir);
}

// ---- the binary -----------------------------------------------------------------------------------------------

struct Result {
  int status;
  std::string out, err;
};

Result run(const std::string& args, const fs::path& dir, const std::string& env = "") {
  const std::string o = (dir / "stdout").string(), e = (dir / "stderr").string();
  const int rc = std::system((env + " " + std::string(PB_BENCH_BINARY) + " " + args + " >" + o + " 2>" + e).c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(o), slurp(e)};
}

class Binary : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("pb_bin_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

// The OpenBLAS core-type restart (bench/context.cc) must not shrink the machine: under OMP_PROC_BIND the first
// image is bound to one core before main(), and a restarted image used to inherit that and count one core.
TEST_F(Binary, PinnedThreadsKeepEveryCore) {
  const Result plain = run("--machine-id", dir, "env -u OMP_PROC_BIND -u OMP_PLACES");
  const Result pinned = run("--machine-id", dir, "OMP_PROC_BIND=close OMP_PLACES=cores");
  ASSERT_EQ(plain.status, 0) << plain.err;
  ASSERT_EQ(pinned.status, 0) << pinned.err;
  EXPECT_EQ(pinned.out, plain.out);
}

TEST_F(Binary, TinyRunHasTheContractsNamesCountersAndContext) {
  std::ofstream(dir / "tiny.json") << R"({"threads": [1, 2], "min_time": 0.001, "naive_max_gflop": 1,
                                          "gemm": [{"M": 33, "N": 17, "K": 65}]})";
  const fs::path out = dir / "r.json";
  Result r = run("--config=" + (dir / "tiny.json").string() + " --out=" + out.string(), dir);
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream f(out);
  const json j = json::parse(f);

  for (const char* key : {"prunebench_version", "git_sha", "build_type", "compiler", "cxx_flags", "profile",
                          "cpu_model", "isa", "cores", "omp_threads", "eigen_version", "openblas_version",
                          "openblas_coretype", "onednn_version"})
    EXPECT_TRUE(j["context"].contains(key)) << key;
  EXPECT_EQ(j["context"]["profile"], "config");
#ifdef PB_HAVE_OPENBLAS
  // OpenBLAS runs kernels of the CPU's ISA, whatever its own detection said (match_openblas_to_cpu), unless the
  // environment chose a core type.
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    const std::string core = j["context"]["openblas_coretype"];
    if (pb::cpu::has_avx512f()) {
      EXPECT_TRUE(core == "SkylakeX" || core == "Cooperlake" || core == "SapphireRapids") << core;
    } else if (pb::cpu::has_avx2_fma()) {
      EXPECT_TRUE(core == "Haswell" || core == "Zen" || core == "SkylakeX" || core == "Cooperlake" ||
                  core == "SapphireRapids") << core;
    }
  }
#endif

  std::string ids;  // the registry's gemm backends: the test holds no list of its own
  for (const auto& k : pb::gemm_kernels()) ids += (ids.empty() ? "" : "|") + k.info.id();
  const std::regex name("^gemm/(" + ids + ")/M:33/N:17/K:65/threads:[12]/real_time$");
  std::set<std::string> backends;
  for (const auto& b : j["benchmarks"]) {
    const std::string n = b["name"];
    EXPECT_TRUE(std::regex_match(n, name)) << n;
    if (b.contains("error_occurred") && b["error_occurred"].get<bool>()) continue;
    for (const char* c : {"flops", "bytes_per_second", "ai", "max_rel_err"}) EXPECT_TRUE(b.contains(c)) << n << " " << c;
    EXPECT_NEAR(b["ai"].get<double>(), 2.0 * 33 * 17 * 65 / (4.0 * (33 * 65 + 65 * 17 + 33 * 17)), 1e-9);
    EXPECT_LE(b["max_rel_err"].get<double>(), 1e-5);
    backends.insert(n.substr(5, n.find('/', 5) - 5));
  }
  EXPECT_TRUE(backends.count("naive") && backends.count("eigen") && backends.count("openmp")) << r.out;
  // Nothing but the result is left in the directory (the temporary file was renamed).
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.path().filename().string().find(".tmp") != std::string::npos;
  EXPECT_EQ(files, 0);
}

TEST_F(Binary, BadInputGivesOneLineAndExitTwo) {
  std::ofstream(dir / "bad.json") << R"({"gemm": [{"M": -1, "N": 1, "K": 1}]})";
  for (const std::string& args : std::vector<std::string>{"--bogus", "--profile=fast", "--config=" + (dir / "bad.json").string(),
                                 "--config=" + (dir / "nope.json").string(),
                                 "--benchmark_out=" + (dir / "x.json").string() + " --benchmark_out_format=xml",
                                 "--benchmark_min_time=soon"}) {
    Result r = run(args, dir);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "x.json"));
}

TEST_F(Binary, HelpAndListKernels) {
  Result h = run("--help", dir);
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("--profile"), std::string::npos);
  Result l = run("--list-kernels", dir);
  EXPECT_EQ(l.status, 0);
  EXPECT_NE(l.out.find("openmp"), std::string::npos);
}

// PB_MAX_ISA=avx2 on any x86 machine with AVX2: our kernels, OpenBLAS, oneDNN and oneMKL all stay at AVX2, and the
// context says so; a value that is no ISA is one line and exit 2.
TEST_F(Binary, IsaCapHoldsEveryBackendAtTheCap) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "no AVX2 here";
  std::ofstream(dir / "cap.json") << R"({"threads": [1], "min_time": 0.001, "gemm": [{"M": 64, "N": 64, "K": 64}],
      "conv": [{"C": 8, "H": 8, "W": 8, "K": 8, "R": 3, "S": 3, "pad": 1}]})";
  const fs::path out = dir / "cap_out.json";
  Result r = run("--config=" + (dir / "cap.json").string() + " --out=" + out.string(), dir,
                 "env -u OPENBLAS_CORETYPE -u ONEDNN_MAX_CPU_ISA -u MKL_ENABLE_INSTRUCTIONS PB_MAX_ISA=avx2");
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream f(out);
  const json j = json::parse(f);
  const json& c = j["context"];
  EXPECT_EQ(c["isa_cap"], "avx2");
  EXPECT_EQ(c["gemm_openmp_microkernel"].get<std::string>().rfind("avx2", 0), 0u) << c["gemm_openmp_microkernel"];
  EXPECT_EQ(c["peak_openmp_isa"], "avx2");
#ifdef PB_HAVE_OPENBLAS
  EXPECT_TRUE(c["openblas_coretype"] == "Haswell" || c["openblas_coretype"] == "Zen") << c["openblas_coretype"];
#endif
  // Eigen cannot be capped (its vector code is compiled in): where it was compiled above AVX2, its rows say so.
  const bool eigen_above = c["eigen_isa"] == "avx512";
  int eigen_rows = 0;
  for (const auto& b : j["benchmarks"]) {
    const std::string n = b["name"], label = b.value("label", "");
    if (n.rfind("conv/onednn", 0) == 0 && !b.value("error_occurred", false)) {
      EXPECT_EQ(label.find("avx512"), std::string::npos) << n << ": " << label;  // oneDNN's implementation name
    }
    if (n.find("/eigen/") != std::string::npos || n.rfind("gemm/eigen", 0) == 0 || n.rfind("conv/eigen", 0) == 0) {
      ++eigen_rows;
      EXPECT_EQ(b.value("error_occurred", false), eigen_above) << n;
      if (eigen_above) {
        EXPECT_NE(b.value("error_message", "").find("cannot be held at the cap"), std::string::npos) << n;
      }
    }
  }
  EXPECT_GT(eigen_rows, 0);
  Result bad = run("--list-kernels", dir, "PB_MAX_ISA=sse9");
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
}

}  // namespace
