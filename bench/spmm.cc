// Sparse x dense family: spmm/<backend>/<format>/M:/N:/K:/sparsity:/pattern:/threads:[/name:<file stem>]
//
// Formats: csr, bsr, nm are our sparse kernels (and Eigen's, and the naive loop); "masked" is the dense openmp
// GEMM on the pruned weights, zeros and all — what a mask alone buys (nothing); "structured" is row or channel
// pruning run as the smaller dense GEMM it becomes (openmp and openblas). The dense baselines (gemm/... at the
// same M, N, K) are registered with every problem, so one JSON always holds both sides of a speedup.
//
// Cache state: warm, as gemm. Counters: flops counts useful work (2 * nnz * N), dense_flops the dense-equivalent
// 2*M*N*K, bytes_per_second the compulsory traffic including index arrays (CSR: 4 B value + 4 B column per
// non-zero + row offsets; BSR: whole blocks + one index per block; N:M: 4 B value + 1 B index per slot).
// Verification as gemm: sampled rows against the float64 product of the masked weights.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "bench_util.h"
#include "prunebench/gemm.h"
#include "prunebench/io.h"
#include "prunebench/prune.h"
#include "prunebench/reference.h"
#include "prunebench/spmm.h"

namespace pb::bench {

namespace {

// One pruned weight matrix and everything derived from it. Built on first use (inside the first benchmark that
// needs it) and kept while consecutive rows use it.
struct Problem {
  std::string key;
  index_t M = 0, K = 0;
  std::vector<float> dense;  // masked weights
  SparseWeights W;
  PatternSpec spec{PatternSpec::magnitude};
  double sparsity = 0.0;
  index_t nnz = 0;
  // structured: the smaller dense problem (kept rows of W, or kept columns of W and the matching rows of B)
  std::vector<index_t> kept_rows, kept_cols;
  std::vector<float> compact;
};

// What a registered row needs to build its problem: generated weights, a .npy file, or a loaded .smtx.
struct Source {
  std::string key, pattern;
  index_t M = 0, K = 0;
  double sparsity = 0.0;
  std::string npy;
  std::shared_ptr<const Csr> csr;  // smtx
};

std::shared_ptr<Problem> build(const Source& s) {
  auto p = std::make_shared<Problem>();
  p->key = s.key;
  if (s.csr) {
    p->M = s.csr->rows, p->K = s.csr->cols;
    p->W.csr = *s.csr;
    p->dense = dense_from_csr(p->W.csr);
  } else {
    if (!s.npy.empty()) {
      auto m = io::load_npy(s.npy);
      p->M = m.rows, p->K = m.cols, p->dense = std::move(m.data);
    } else {
      p->M = s.M, p->K = s.K;
      p->dense.resize(static_cast<std::size_t>(s.M * s.K));
      fill_random(p->dense, 3000 + static_cast<std::uint64_t>(s.M * 131 + s.K));
    }
    p->spec = parse_pattern(s.pattern);
    const Mask mask = make_mask(p->spec, p->dense, p->M, p->K, s.sparsity, 17);
    apply_mask(p->dense, mask);
    p->W.csr = csr_from_dense(p->dense, p->M, p->K);
    if (p->spec.kind == PatternSpec::block) p->W.bsr = bsr_from_dense(p->dense, p->M, p->K, p->spec.r, p->spec.c);
    if (p->spec.kind == PatternSpec::nm) p->W.nm = nm_from_dense(p->dense, p->M, p->K, p->spec.r, p->spec.c);
    if (p->spec.kind == PatternSpec::rows || p->spec.kind == PatternSpec::channels) {  // the smaller dense problem
      const bool rows = p->spec.kind == PatternSpec::rows;
      Compact c = rows ? compact_rows(p->dense, mask, p->M, p->K) : compact_columns(p->dense, mask, p->M, p->K);
      (rows ? p->kept_rows : p->kept_cols) = std::move(c.kept);
      p->compact = std::move(c.w);
    }
  }
  p->W.M = p->M, p->W.K = p->K;
  p->nnz = p->W.csr.nnz();
  p->sparsity = p->M * p->K > 0 ? 1.0 - static_cast<double>(p->nnz) / static_cast<double>(p->M * p->K) : 0.0;
  return p;
}

std::shared_ptr<Problem> problem_for(const Source& s) {
  static std::shared_ptr<Problem> last;
  if (!last || last->key != s.key) {
    last.reset();
    last = build(s);
  }
  return last;
}

struct Activations {
  index_t K = 0, N = 0;
  AlignedBuffer<float> B;
};
const Activations& activations(index_t K, index_t N) {
  static Activations a;
  if (a.K != K || a.N != N || !a.B.size()) {
    a.K = K, a.N = N;
    a.B = AlignedBuffer<float>(static_cast<std::size_t>(std::max<index_t>(1, K * N)), kPageAligned);
    fill_random(a.B.span(), 4000 + static_cast<std::uint64_t>(K * 7 + N));
  }
  return a;
}

// Checks rows out_rows of C against the float64 product of the matching rows of the masked weights.
double verify(const Problem& p, const float* B, index_t N, const float* C, const std::vector<index_t>& out_rows,
              const std::vector<index_t>& w_rows) {
  return verify_rows(C, N, p.K, p.dense.data(), p.K, B, out_rows, w_rows);
}

// The row's problem, or null after SkipWithError (backend unavailable here, or the weights could not be built).
std::shared_ptr<Problem> prepare(benchmark::State& st, const KernelInfo& info, const Source& src) {
  if (skip_if_unavailable(st, info.id(), info.why_unavailable())) return nullptr;
  try {
    return problem_for(src);
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
    return nullptr;
  }
}

void run_sparse(benchmark::State& st, const Kernel<SpmmFn>& k, const Source& src, index_t N, int threads) {
  const std::shared_ptr<Problem> p = prepare(st, k.info, src);
  if (!p) return;
  const auto& act = activations(p->K, N);
  AlignedBuffer<float> C(static_cast<std::size_t>(std::max<index_t>(1, p->M * N)), kPageAligned);
  const SpmmArgs g{&p->W, N, act.B.data(), N, C.data(), N, threads};
  p->W.prepared = PreparedForm{};  // a kernel's own form of the weights is made (and its cost counted) by this row
  k.run(g);
  const double setup_s = p->W.prepared.setup_seconds;
  if (!p->W.prepared.chosen.empty()) st.SetLabel(p->W.prepared.chosen);  // what a kernel that picks at set-up picked
  const auto rows = check_rows(p->M, double(N) * double(p->K));
  const double err = verify(*p, act.B.data(), N, C.data(), rows, rows);
  if (skip_if_wrong(st, err, ref::dot_tolerance(p->K))) return;
  for (auto _ : st) {
    k.run(g);
    benchmark::ClobberMemory();
  }
  const double io = 4.0 * (p->K * N + p->M * N);
  double idx_bytes = 0;
  const std::string& f = k.info.formats.at(0);  // the format it reads (csr_wide, csr_rt4 and mkl/csr read CSR)
  if (f == "csr") idx_bytes = 8.0 * p->nnz + 4.0 * (p->M + 1);
  if (f == "bsr") idx_bytes = 4.0 * p->W.bsr.values.size() + 4.0 * p->W.bsr.blocks() + 4.0 * p->W.bsr.rowptr.size();
  if (f == "nm") idx_bytes = 5.0 * p->W.nm.values.size();
  set_sparse_counters(st, 2.0 * p->nnz * N, 2.0 * p->M * N * p->K, io + idx_bytes, err, p->sparsity,
                      static_cast<double>(p->nnz));
  if (setup_s > 0) st.counters["setup_ms"] = setup_s * 1e3;  // once per weights, outside the timed calls
}

// masked: the dense gemm on the pruned weights. structured: the smaller dense gemm.
void run_dense_on_pruned(benchmark::State& st, const Kernel<GemmFn>& k, bool structured, const Source& src, index_t N,
                         int threads) {
  const std::shared_ptr<Problem> p = prepare(st, k.info, src);
  if (!p) return;
  const auto& act = activations(p->K, N);
  const bool rows = !p->kept_rows.empty() || p->spec.kind == PatternSpec::rows;
  // Problem actually run: M' x N x K' with A' and B'.
  index_t Mr = p->M, Kr = p->K;
  const float* A = p->dense.data();
  AlignedBuffer<float> Bc;
  const float* B = act.B.data();
  if (structured) {
    A = p->compact.data();
    if (rows) {
      Mr = static_cast<index_t>(p->kept_rows.size());
    } else {
      Kr = static_cast<index_t>(p->kept_cols.size());
      Bc = AlignedBuffer<float>(static_cast<std::size_t>(std::max<index_t>(1, Kr * N)), kPageAligned);
      for (index_t j = 0; j < Kr; ++j)
        std::copy(B + p->kept_cols[j] * N, B + (p->kept_cols[j] + 1) * N, Bc.data() + j * N);
      B = Bc.data();  // the previous layer, channel-pruned too, produces only the kept channels
    }
  }
  AlignedBuffer<float> C(static_cast<std::size_t>(std::max<index_t>(1, Mr * N)), kPageAligned);
  const GemmArgs g{Mr, N, Kr, A, Kr, B, N, C.data(), N, threads};
  k.run(g);
  // Output row r of the run problem is weight row w_rows[r] of the full masked problem.
  std::vector<index_t> out_rows = check_rows(Mr, double(N) * double(p->K)), w_rows = out_rows;
  if (structured && rows)
    for (auto& r : w_rows) r = p->kept_rows[r];
  const double err = Mr ? verify(*p, act.B.data(), N, C.data(), out_rows, w_rows) : 0.0;
  if (skip_if_wrong(st, err, ref::dot_tolerance(p->K))) return;
  for (auto _ : st) {
    k.run(g);
    benchmark::ClobberMemory();
  }
  const double useful = structured ? 2.0 * Mr * N * Kr : 2.0 * p->nnz * N;
  set_sparse_counters(st, useful, 2.0 * p->M * N * p->K, 4.0 * (Mr * Kr + Kr * N + Mr * N), err, p->sparsity,
                      static_cast<double>(p->nnz));
}

RowSpec row_spec(const std::string& id, index_t M, index_t N, index_t K, double sparsity, const std::string& pattern,
                 int threads, const std::string& name) {
  RowSpec r("spmm", id);
  r.p("M", M).p("N", N).p("K", K).p("sparsity", sparsity_str(sparsity)).p("pattern", pattern).p("threads", threads);
  if (!name.empty()) r.p("name", name);
  return r;
}

bool wanted(const SpmmEntry& e, const std::string& id) {
  return e.kernels.empty() || std::find(e.kernels.begin(), e.kernels.end(), id) != e.kernels.end();
}

// Registers every kernel that applies to one problem at one N.
void register_problem(const Config& c, const SpmmEntry& e, const Source& src, index_t M, index_t K, double sparsity,
                      const std::string& pattern, const std::string& name, index_t N, bool file) {
  register_gemm_shape(c, {M, N, K});  // dense baselines
  const std::string served = file ? "file" : pattern;  // a real pattern: unstructured, any CSR kernel takes it
  const double useful_gflop = 2e-9 * (1.0 - sparsity) * M * K * N;
  for (int t : c.threads) {
    for (const auto& k : spmm_kernels()) {
      if (!k.info.serves(served) || !wanted(e, k.info.id())) continue;
      if (k.info.backend == "naive" && (t != 1 || useful_gflop > c.naive_max_gflop)) continue;
      register_row(c, row_spec(k.info.id(), M, N, K, sparsity, pattern, t, name).peer(k.info.library_peer),
                   [&k, src, N, t](benchmark::State& st) { run_sparse(st, k, src, N, t); });
    }
    for (const auto& r : spmm_dense_routes()) {
      const auto* g = find_gemm_kernel(r.gemm_backend);
      if (!g || !r.info.serves(served) || !wanted(e, r.info.id())) continue;
      register_row(c, row_spec(r.info.id(), M, N, K, sparsity, pattern, t, name),
                   [g, compact = r.compact, src, N, t](benchmark::State& st) {
                     run_dense_on_pruned(st, *g, compact, src, N, t);
                   });
    }
  }
}

// "stem,N" per line (DLMC's rn50_batchsizes.txt).
std::map<std::string, index_t> read_batchsizes(const std::string& path) {
  std::map<std::string, index_t> out;
  std::ifstream f(path);
  if (!f) throw ConfigError(path + ": cannot open batch sizes file");
  std::string line;
  while (std::getline(f, line)) {
    const auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    try {
      out[line.substr(0, comma)] = std::stoll(line.substr(comma + 1));
    } catch (const std::exception&) {
      throw ConfigError(path + ": bad line '" + line + "'");
    }
  }
  return out;
}

}  // namespace

void register_spmm(const Config& c) {
  namespace fs = std::filesystem;
  std::set<std::string> names;
  for (const SpmmEntry& e : c.spmm) {
    if (!e.smtx.empty()) {
      std::vector<fs::path> files;
      if (fs::is_directory(e.smtx)) {
        for (const auto& d : fs::recursive_directory_iterator(e.smtx))
          if (d.path().extension() == ".smtx") files.push_back(d.path());
        std::sort(files.begin(), files.end());
      } else {
        files.push_back(e.smtx);
      }
      const auto batch = e.batchsizes.empty() ? std::map<std::string, index_t>{} : read_batchsizes(e.batchsizes);
      for (const auto& f : files) {
        Source src;
        try {
          src.csr = std::make_shared<const Csr>(io::load_smtx(f.string(), 5000));
        } catch (const io::IoError& err) {
          throw ConfigError(err.what());
        }
        src.key = f.string();
        src.pattern = "file";
        const Csr& a = *src.csr;
        const double sp = 1.0 - static_cast<double>(a.nnz()) / static_cast<double>(std::max<index_t>(1, a.rows * a.cols));
        if (!e.sparsity.empty() &&
            std::none_of(e.sparsity.begin(), e.sparsity.end(), [&](double s) { return std::abs(s - sp) < 0.005; }))
          continue;
        // Names must be unique: DLMC keeps the same layer under several pruning methods.
        std::string name = f.stem().string();
        if (names.count(name + sparsity_str(sp))) name = f.parent_path().parent_path().filename().string() + "." + name;
        names.insert(name + sparsity_str(sp));
        std::vector<index_t> Ns = e.N;
        if (auto it = batch.find(f.stem().string()); it != batch.end()) Ns = {it->second};
        for (index_t N : Ns) register_problem(c, e, src, a.rows, a.cols, sp, "file", name, N, true);
      }
      continue;
    }
    index_t M = e.M, K = e.K;
    std::string name;
    if (!e.npy.empty()) {
      try {
        const auto m = io::load_npy(e.npy);
        M = m.rows, K = m.cols;
      } catch (const io::IoError& err) {
        throw ConfigError(err.what());
      }
      name = fs::path(e.npy).stem().string();
    }
    for (const auto& pattern : e.patterns) {
      const PatternSpec spec = parse_pattern(pattern);
      // N:M fixes its own sparsity; the sweep's values do not apply.
      std::vector<double> sps = e.sparsity;
      if (spec.kind == PatternSpec::nm) sps = {1.0 - static_cast<double>(spec.r) / spec.c};
      for (double s : sps) {
        Source src;
        src.pattern = pattern, src.M = M, src.K = K, src.sparsity = s, src.npy = e.npy;
        src.key = (e.npy.empty() ? std::to_string(M) + "x" + std::to_string(K) : e.npy) + "/" + pattern + "/" +
                  sparsity_str(s);
        for (index_t N : e.N)
          register_problem(c, e, src, M, K, s, pattern, name, N, false);
      }
    }
  }
}

}  // namespace pb::bench
