// The context block every JSON carries (docs/design.md, "Context block"): enough to tell which code, build, machine and
// library configuration produced a number, and to refuse comparing numbers from different machines.
#include <omp.h>

#include <Eigen/Core>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_util.h"
#include "slowdown.h"
#include "pb_git_sha.h"
#include "prunebench/cpu.h"
#include "prunebench/gemm.h"
#include "prunebench/gpu.h"
#include "prunebench/precision.h"
#include "prunebench/mkl.h"
#include "prunebench/peak.h"

#ifdef PB_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef PB_HAVE_ONEDNN
#include <dnnl.h>
#endif

namespace pb::bench {

namespace {
std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

#ifdef PB_HAVE_OPENBLAS
// openblas_get_config() reads like "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
std::string openblas_version() {
  std::string cfg = openblas_get_config();
  auto p = cfg.find("OpenBLAS ");
  if (p == std::string::npos) return cfg;
  auto rest = cfg.substr(p + 9);
  return rest.substr(0, rest.find(' '));
}
#endif
}  // namespace

std::string openblas_corename() {
#ifdef PB_HAVE_OPENBLAS
  return openblas_get_corename();
#else
  return "not built";
#endif
}

void apply_isa_cap() {
  // PB_MAX_ISA caps our dispatchers (cpu.h); the libraries get their own switches, set before they load, unless
  // the environment already chose.
  const std::string cap = cpu::isa_cap();
  if (cap.empty()) return;
  auto unset_or_empty = [](const char* k) { return !std::getenv(k) || !*std::getenv(k); };
  if (unset_or_empty("ONEDNN_MAX_CPU_ISA")) setenv("ONEDNN_MAX_CPU_ISA", cap == "avx2" ? "AVX2" : "SSE41", 1);
  if (unset_or_empty("MKL_ENABLE_INSTRUCTIONS")) setenv("MKL_ENABLE_INSTRUCTIONS", cap == "avx2" ? "AVX2" : "SSE4_2", 1);
}

// OpenBLAS's idle workers spin (sched_yield) for 2^OPENBLAS_THREAD_TIMEOUT TSC ticks after each call before they
// sleep: 2^28 by default, 0.13 s at this Xeon's 2.1 GHz TSC, longer than a default-profile row's 0.1 s. A spinning
// worker then shares the cores with the next rows: a threads:1 row counted two busy threads (test_threads), and the
// first oneMKL row after an OpenBLAS row at 2 threads took 1.9x to 370x its time in 3 of 6 runs (Emerald Rapids, 2
// vCPUs; 0 of 6 with a short timeout). 2^22 ticks (1-2 ms at 2-4 GHz) still keeps the workers awake between the
// back-to-back calls of one row, which is all OpenBLAS's own rows need. Read at load time, so set before a restart.
constexpr const char* kOpenblasThreadTimeout = "22";

// OpenBLAS picks its kernels from the CPU model when it is loaded; Debian's 0.3.21 does not know recent Xeons and
// falls back to SSE3 kernels ("Prescott") at a fifth of peak, which would publish a weak baseline. When the CPU runs
// AVX-512 or AVX2 and OpenBLAS chose a kernel set without them, run again with the matching OPENBLAS_CORETYPE (the
// choice is made at load time, so only a fresh image can change it) and say so. A core type the user set is left
// alone; the context records both (openblas_coretype, openblas_coretype_env) and, after a restart, what OpenBLAS had
// chosen (openblas_coretype_set_by).
void match_openblas_to_cpu(char** argv) {
#ifdef PB_HAVE_OPENBLAS
  if (std::getenv("PB_OPENBLAS_RESTARTED")) return;
  const bool set_timeout = !std::getenv("OPENBLAS_THREAD_TIMEOUT") || !*std::getenv("OPENBLAS_THREAD_TIMEOUT");
  const bool coretype_set = std::getenv("OPENBLAS_CORETYPE") && *std::getenv("OPENBLAS_CORETYPE");
  const std::string core = openblas_get_corename();
  auto is = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (core == n) return true;
    return false;
  };
  // The level OpenBLAS runs against the level the CPU offers (or PB_MAX_ISA allows): below it, or above a cap.
  const bool k512 = is({"SkylakeX", "Cooperlake", "SapphireRapids"}), k256 = is({"Haswell", "Zen"});
  const char* want = nullptr;
  if (coretype_set)
    want = nullptr;  // the user's choice stands
  else if (cpu::has_avx512f() && !k512)
    want = "SkylakeX";
  else if (!cpu::has_avx512f() && cpu::has_avx2_fma() && (cpu::isa_cap() == "avx2" ? !k256 : !k256 && !k512))
    want = "Haswell";
  else if (!cpu::has_avx2_fma() && !cpu::isa_cap().empty() && (k512 || k256))
    want = "Prescott";
  if (!want && !set_timeout) return;
  // Said in the context (openblas_coretype_set_by, openblas_thread_timeout), not on stderr: a bad flag must still
  // give exactly one line. PB_OPENBLAS_RESTARTED names the core type OpenBLAS had chosen, empty where it was kept.
  if (set_timeout) setenv("OPENBLAS_THREAD_TIMEOUT", kOpenblasThreadTimeout, 1);
  if (want) setenv("OPENBLAS_CORETYPE", want, 1);
  setenv("PB_OPENBLAS_RESTARTED", want ? core.c_str() : "", 1);
  // With OMP_PROC_BIND set, libgomp bound this thread to the first place before main(); the new image would inherit
  // that one-core mask, and its OpenMP would count one processor (every "cores" row on one thread, the machine id
  // "-1c": scripts/bench on this Xeon until this was found). It gets the union of the places instead, which is the
  // mask this process started with.
  if (const int places = omp_get_num_places(); places > 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int p = 0; p < places; ++p) {
      std::vector<int> ids(static_cast<std::size_t>(omp_get_place_num_procs(p)));
      omp_get_place_proc_ids(p, ids.data());
      for (int id : ids) CPU_SET(id, &set);
    }
    sched_setaffinity(0, sizeof(set), &set);
  }
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "prunebench: could not restart (%s): OpenBLAS keeps '%s' and its default thread timeout\n",
               std::strerror(errno), core.c_str());
#else
  (void)argv;
#endif
}

void add_context(const Config& c) {
  if (c.gpu.enabled && gpu::why_unavailable().empty()) {
    const gpu::DeviceInfo d = gpu::device_info();
    benchmark::AddCustomContext("gpu_name", d.name);
    benchmark::AddCustomContext("gpu_sm_count", std::to_string(d.sm_count));
    benchmark::AddCustomContext("gpu_mem_bytes", std::to_string(d.mem_bytes));
    benchmark::AddCustomContext("gpu_clock_mhz", std::to_string(d.clock_mhz));
    benchmark::AddCustomContext("cuda_runtime", std::to_string(d.runtime));
    benchmark::AddCustomContext("cuda_driver", std::to_string(d.driver));
    benchmark::AddCustomContext("cublas_version", std::to_string(d.cublas));
    benchmark::AddCustomContext("cudnn_version", std::to_string(d.cudnn));
    benchmark::AddCustomContext("cusparselt_version", std::to_string(d.cusparselt));
    benchmark::AddCustomContext("gpu_compute_capability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor));
    benchmark::AddCustomContext("gpu_l2_bytes", std::to_string(d.l2_bytes));
    benchmark::AddCustomContext("gpu_l2_flush", c.gpu.l2_flush);
    // The clocks when the run starts and their ceilings (rows carry the clocks NVML read after each of them).
    const gpu::Clocks k = gpu::read_clocks(d.pci_bus_id);
    if (k.ok) {
      benchmark::AddCustomContext("gpu_sm_clock_mhz", std::to_string(k.sm_mhz));
      benchmark::AddCustomContext("gpu_mem_clock_mhz", std::to_string(k.mem_mhz));
      benchmark::AddCustomContext("gpu_sm_clock_max_mhz", std::to_string(k.sm_max_mhz));
      benchmark::AddCustomContext("gpu_mem_clock_max_mhz", std::to_string(k.mem_max_mhz));
      benchmark::AddCustomContext("gpu_clock_reasons", gpu::reason_words(k.reasons));
    } else {
      benchmark::AddCustomContext("gpu_clocks", "unknown: " + k.why);
    }
  } else if (c.gpu.enabled) {
    benchmark::AddCustomContext("gpu_name", "none: " + gpu::why_unavailable());
  }
  if (c.gpu.enabled) {
    // precision.h's `accepts`, for the analysis: "f32=f32,tf32 f16=f16,bf16 ...".
    std::string acc;
    for (const Precision& p : precisions()) {
      acc += (acc.empty() ? "" : " ") + p.dtype + "=";
      for (size_t i = 0; i < p.accepts.size(); ++i) acc += (i ? "," : "") + p.accepts[i];
    }
    benchmark::AddCustomContext("precision_accepts", acc);
  }
  using benchmark::AddCustomContext;
  AddCustomContext("isa_cap", cpu::isa_cap().empty() ? "none" : cpu::isa_cap());
  AddCustomContext("prunebench_version", PB_VERSION);
  AddCustomContext("git_sha", PB_GIT_SHA);
  AddCustomContext("git_commit_time", PB_GIT_COMMIT_TIME);
  AddCustomContext("build_type", PB_BUILD_TYPE);
  AddCustomContext("compiler", PB_COMPILER);
  AddCustomContext("cxx_flags", PB_CXX_FLAGS);
  AddCustomContext("profile", c.profile);
  AddCustomContext("config_source", c.source);
  AddCustomContext("cpu_model", cpu::model());
  AddCustomContext("machine_id", cpu::machine_id());
  AddCustomContext("cpu_vendor", cpu::vendor());
  AddCustomContext("cpu_family", std::to_string(cpu::family()));
  AddCustomContext("cpu_model_number", std::to_string(cpu::model_number()));
  AddCustomContext("cpu_uarch", cpu::microarchitecture());
  AddCustomContext("isa", cpu::isa());
  AddCustomContext("cores", std::to_string(cpu::cores()));
  AddCustomContext("omp_threads", std::to_string(omp_get_max_threads()));
  AddCustomContext("omp_proc_bind", env_or("OMP_PROC_BIND", "unset"));
  AddCustomContext("omp_places", env_or("OMP_PLACES", "unset"));
  AddCustomContext("l1d_bytes", std::to_string(cpu::cache_bytes(1)));
  AddCustomContext("l2_bytes", std::to_string(cpu::cache_bytes(2)));
  AddCustomContext("l3_bytes", std::to_string(cpu::cache_bytes(3)));
  AddCustomContext("gemm_openmp_microkernel", gemm_openmp_microkernel());
  AddCustomContext("peak_openmp_isa", peak_openmp_isa());
  if (injected_slowdown() > 0) AddCustomContext("injected_slowdown", std::to_string(injected_slowdown()));
  AddCustomContext("cpu_clock_ghz", std::to_string(measured_clock_ghz()));
  // The disturbance guard's margins (bench/guard.h), so the analysis judges the rows by the rule they ran under.
  AddCustomContext("guard", c.guard.enabled ? "canary after every repetition" : "off");
  if (c.guard.enabled) {
    AddCustomContext("guard_margin", std::to_string(c.guard.margin));
    AddCustomContext("guard_memory_margin", std::to_string(c.guard.memory_margin));
    AddCustomContext("guard_steal", std::to_string(c.guard.steal));
    AddCustomContext("guard_c2c_margin", std::to_string(c.guard.c2c_margin));
    AddCustomContext("guard_fma_margin", std::to_string(c.guard.fma_margin));
    AddCustomContext("guard_spread", std::to_string(c.guard.spread));
  }
  AddCustomContext("dram_bytes", std::to_string(dram_bytes()));
  AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                                        "." + std::to_string(EIGEN_MINOR_VERSION));
  AddCustomContext("eigen_isa", eigen_isa());  // fixed at compile time: above PB_MAX_ISA, the eigen rows skip
#ifdef PB_HAVE_OPENBLAS
  AddCustomContext("openblas_version", openblas_version());
  // What OpenBLAS actually runs with (its own detection, or OPENBLAS_CORETYPE when set), and whether it was forced.
  AddCustomContext("openblas_coretype", openblas_get_corename());
  AddCustomContext("openblas_coretype_env", env_or("OPENBLAS_CORETYPE", "unset"));
  AddCustomContext("openblas_thread_timeout", env_or("OPENBLAS_THREAD_TIMEOUT", "unset"));
  if (const char* was = std::getenv("PB_OPENBLAS_RESTARTED"); was && *was)
    AddCustomContext("openblas_coretype_set_by",
                     std::string("prunebench: OpenBLAS chose ") + was + " kernels on this CPU, below its ISA");
#else
  AddCustomContext("openblas_version", "not built");
  AddCustomContext("openblas_coretype", "not built");
#endif
  // oneMKL's version and the code path it dispatches to on this CPU (it picks slower paths on some vendors' CPUs).
  AddCustomContext("mkl_version", mkl_version());
  AddCustomContext("mkl_code_path", mkl_code_path());
#ifdef PB_HAVE_ONEDNN
  const dnnl_version_t* v = dnnl_version();
  AddCustomContext("onednn_version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
#else
  AddCustomContext("onednn_version", "not built");
#endif
}

}  // namespace pb::bench
