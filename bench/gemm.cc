// Dense GEMM family: gemm/<backend>/M:/N:/K:/threads:
//
// Cache state: warm. A and B are the same buffers every iteration, as BLAS benchmarks do; above a few MB they do
// not fit in L2 anyway and the blocked kernels stream them from L3/DRAM in panels. bytes_per_second counts the
// compulsory traffic (A, B read once, C written once), so ai is the best case a roofline can assume.
//
// Verification: before timing, each kernel's output is compared with the float64 oracle on the rows check_rows()
// picks (bench_util.h): every row while the oracle fits its budget, else a sample covering every block of rows
// (a full float64 product at 2048^3 would cost longer than timing every backend). The oracle rows are computed
// once per shape and shared by all backends.
#include <memory>
#include <tuple>

#include "bench_util.h"
#include "slowdown.h"
#include "prunebench/gemm.h"
#include "prunebench/reference.h"

namespace pb::bench {

namespace {

struct GemmInputs {
  index_t M, N, K;
  AlignedBuffer<float> A, B;
  std::vector<index_t> rows;  // rows checked against the oracle
  std::vector<double> ref;    // rows.size() x N
};

// Benchmarks run in registration order (shape by shape), so keeping the last shape's inputs is enough and
// bounds memory to one problem.
std::shared_ptr<const GemmInputs> inputs_for(const GemmShape& s) {
  static std::shared_ptr<GemmInputs> last;
  if (last && last->M == s.M && last->N == s.N && last->K == s.K) return last;
  last.reset();
  auto in = std::make_shared<GemmInputs>();
  in->M = s.M, in->N = s.N, in->K = s.K;
  in->A = AlignedBuffer<float>(static_cast<std::size_t>(s.M * s.K), kPageAligned);
  in->B = AlignedBuffer<float>(static_cast<std::size_t>(s.K * s.N), kPageAligned);
  fill_random(in->A.span(), 1000 + static_cast<std::uint64_t>(s.M * 31 + s.K));
  fill_random(in->B.span(), 2000 + static_cast<std::uint64_t>(s.K * 31 + s.N));
  in->rows = check_rows(s.M, double(s.N) * double(s.K));
  in->ref.resize(in->rows.size() * static_cast<std::size_t>(s.N));
  ref::gemm_rows(s.N, s.K, in->A.data(), s.K, in->B.data(), s.N, in->rows, in->ref.data());
  last = in;
  return in;
}

void run_gemm(benchmark::State& st, const Kernel<GemmFn>& k, GemmShape s, int threads) {
  if (skip_if_unavailable(st, k.info.id(), k.info.why_unavailable())) return;
  auto in = inputs_for(s);
  AlignedBuffer<float> C(static_cast<std::size_t>(s.M * s.N), kPageAligned);
  const GemmArgs g{s.M, s.N, s.K, in->A.data(), s.K, in->B.data(), s.N, C.data(), s.N, threads};

  run_gemm_kernel(k, g);
  std::vector<float> got;  // the oracle rows are cached per shape (shared by all backends), so compare directly
  got.reserve(in->rows.size() * static_cast<std::size_t>(s.N));
  for (index_t r : in->rows) got.insert(got.end(), C.data() + r * s.N, C.data() + (r + 1) * s.N);
  const double err = ref::max_rel_err(got.data(), s.N, in->ref.data(), static_cast<index_t>(in->rows.size()), s.N);
  if (skip_if_wrong(st, err, ref::dot_tolerance(s.K))) return;

  for (auto _ : st) {
    run_gemm_kernel(k, g);
    benchmark::ClobberMemory();
  }
  const double flop = 2.0 * s.M * s.N * s.K;
  const double bytes = 4.0 * (s.M * s.K + s.K * s.N + s.M * s.N);
  set_dense_counters(st, flop, bytes, err);
}

}  // namespace

void register_gemm_shape(const Config& c, const GemmShape& s) {
  // A shape asked for twice (a gemm entry and an spmm entry's dense baseline) is registered once.
  static std::set<std::tuple<index_t, index_t, index_t>> done;
  if (!done.insert({s.M, s.N, s.K}).second) return;
  {
    const double gflop = 2e-9 * s.M * s.N * s.K;
    for (const auto& k : gemm_kernels()) {
      const bool scalar = k.info.backend == "naive";
      if (scalar && gflop > c.naive_max_gflop) continue;  // the scalar rung would take minutes
      for (int t : c.threads) {
        if (scalar && t != 1) continue;  // single-threaded by definition
        register_row(c, RowSpec("gemm", k.info.id()).p("M", s.M).p("N", s.N).p("K", s.K).p("threads", t).dense(k.info.dense_baseline).peer(k.info.library_peer),
                     [&k, s, t](benchmark::State& st) { run_gemm(st, k, s, t); });
      }
    }
  }
}

void register_gemm(const Config& c) {
  for (const GemmShape& s : c.gemm) register_gemm_shape(c, s);
}

}  // namespace pb::bench
