// A `threads:T` row must run on T threads, whatever row ran before it: every backend of every op (ours, Eigen,
// OpenBLAS, oneDNN) is called at 2, then 1, then 2 threads, and the threads that did the work are counted from
// the kernel's own accounting of CPU time per thread (/proc/self/task/*/schedstat, nanoseconds). A library that
// fixes its thread count at set-up (oneDNN's primitives) or keeps a global one (OpenBLAS, Eigen) fails here when
// the harness forgets to pass the row's count.
#include <dirent.h>
#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "prunebench/conv.h"
#include "prunebench/gemm.h"
#include "prunebench/prune.h"
#include "prunebench/spmm.h"

namespace {

using pb::index_t;

// CPU time (ns) of every thread of this process.
std::map<long, long long> cpu_ns_per_thread() {
  std::map<long, long long> out;
  DIR* d = opendir("/proc/self/task");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/schedstat");
    long long ns = 0;
    if (f >> ns) out[std::atol(e->d_name)] = ns;
  }
  closedir(d);
  return out;
}

bool schedstat_works() { return !cpu_ns_per_thread().empty() && cpu_ns_per_thread().begin()->second > 0; }

// Runs fn repeatedly for at least 0.3 s and counts the threads that were busy at least 40% of that wall time.
// An idle pool thread (parked on a futex) gains nothing; a worker that shares the work gains ~100%.
int busy_threads(const std::function<void()>& fn) {
  fn();  // warm-up: thread pools and library caches are created here
  const auto before = cpu_ns_per_thread();
  const auto t0 = std::chrono::steady_clock::now();
  double wall = 0;
  do {
    fn();
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (wall < 0.3);
  const auto after = cpu_ns_per_thread();
  int busy = 0;
  for (const auto& [tid, ns] : after) {
    const auto b = before.find(tid);
    const long long used = ns - (b == before.end() ? 0 : b->second);
    if (used > 0.4 * wall * 1e9) ++busy;
  }
  return busy;
}

// 2, 1, 2: the 1 after a 2 catches a count kept from the previous row, the last 2 one kept from the 1.
void expect_row_threads(const std::string& what, const std::function<void(int)>& run) {
  if (!schedstat_works()) GTEST_SKIP() << "no per-thread CPU time in /proc/self/task/*/schedstat";
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  for (int t : {2, 1, 2}) {
    if (t > cores) continue;
    EXPECT_EQ(busy_threads([&] { run(t); }), t) << what << " at threads:" << t;
  }
}

// Prunes w (rows x cols) in place to what a kernel of format fmt takes (2:4, 4x4 blocks at 80%, or 80%
// magnitude) and builds that format beside the CSR every kernel can fall back on.
pb::SparseWeights pruned_for(const std::string& fmt, std::vector<float>& w, index_t rows, index_t cols) {
  pb::SparseWeights sw;
  sw.M = rows, sw.K = cols;
  if (fmt == "nm") {
    pb::apply_mask(w, pb::mask_nm(w, rows, cols, 2, 4));
    sw.nm = pb::nm_from_dense(w, rows, cols, 2, 4);
  } else if (fmt == "bsr") {
    pb::apply_mask(w, pb::mask_blocks(w, rows, cols, 4, 4, 0.8));
    sw.bsr = pb::bsr_from_dense(w, rows, cols, 4, 4);
  } else if (fmt != "dense") {
    pb::apply_mask(w, pb::mask_magnitude(w, rows, cols, 0.8));
  }
  sw.csr = pb::csr_from_dense(w, rows, cols);
  return sw;
}

TEST(Threads, EveryGemmBackendRunsOnTheRowsThreadCount) {
  const index_t n = 320;
  std::vector<float> A(n * n), B(n * n), C(n * n);
  pb::fill_random(A, 1), pb::fill_random(B, 2);
  for (const auto& k : pb::gemm_kernels()) {
    if (!k.info.available() || k.info.backend == "naive") continue;  // naive is single-threaded by definition
    expect_row_threads("gemm " + k.info.id(), [&](int t) {
      k.run({n, n, n, A.data(), n, B.data(), n, C.data(), n, t});
    });
  }
}

TEST(Threads, EverySpmmBackendRunsOnTheRowsThreadCount) {
  const index_t M = 512, K = 512, N = 256;
  std::vector<float> w(M * K), B(K * N), C(M * N);
  pb::fill_random(w, 3), pb::fill_random(B, 4);
  for (const auto& k : pb::spmm_kernels()) {
    if (!k.info.available() || k.info.backend == "naive") continue;
    std::vector<float> wk = w;
    const pb::SparseWeights sw = pruned_for(k.info.formats.at(0), wk, M, K);
    expect_row_threads("spmm " + k.info.id(), [&](int t) { k.run({&sw, N, B.data(), N, C.data(), N, t}); });
  }
}

TEST(Threads, EveryConvBackendRunsOnTheRowsThreadCount) {
  const pb::ConvShape s{1, 64, 28, 28, 64, 3, 3, 1, 1};
  const index_t CRS = s.C * s.R * s.S;
  std::vector<float> x(s.N * s.C * s.H * s.W), w(s.K * CRS), y(s.N * s.K * s.OH() * s.OW());
  pb::fill_random(x, 5), pb::fill_random(w, 6);
  for (const auto& k : pb::conv_kernels()) {
    if (!k.info.available() || k.info.backend == "naive") continue;
    std::vector<float> wk = w;
    const pb::SparseWeights sw = pruned_for(k.info.formats.at(0), wk, s.K, CRS);
    expect_row_threads("conv " + k.info.id(), [&](int t) {
      k.run({s, x.data(), wk.data(), &sw, y.data(), t, false});
    });
  }
}

// A library that sizes itself from the process-wide OpenMP setting must not be rescued by it: the rows above
// pass their count explicitly, and this one checks that a stray global setting does not leak in either.
TEST(Threads, GlobalOpenMpSettingDoesNotOverrideTheRow) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const index_t n = 320;
  std::vector<float> A(n * n), B(n * n), C(n * n);
  pb::fill_random(A, 1), pb::fill_random(B, 2);
  const auto* k = pb::find_gemm_kernel("openmp");
  ASSERT_NE(k, nullptr);
  if (std::thread::hardware_concurrency() >= 2 && schedstat_works()) {
    EXPECT_EQ(busy_threads([&] { k->run({n, n, n, A.data(), n, B.data(), n, C.data(), n, 2}); }), 2);
  }
  omp_set_num_threads(saved);
}

}  // namespace
