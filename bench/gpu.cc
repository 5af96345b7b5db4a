// GPU rows (CUDA backends): ceilings, GEMM, SpMM, convolution. Names follow the CPU families; GPU rows carry no
// threads key, and library rows a dtype key (precision.h: f32, tf32, f16, bf16, i8, e4m3). Timing: CUDA events around back-to-back launches
// on the op's stream after a warm-up (UseManualTime), inputs on the device before timing; every CUDA call is
// checked and a failure becomes the row's error. Verification: the output is copied back and compared with the
// float64 oracle on the host before timing.
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "bench_util.h"
#include "prunebench/gpu.h"
#include "prunebench/precision.h"
#include "prunebench/prune.h"
#include "prunebench/reference.h"

namespace pb::bench {

namespace {

// Launches per timed iteration: enough to amortize the event overhead on microsecond kernels.
constexpr int kInner = 10;

bool gpu_skip(benchmark::State& st, const std::string& id) {
  return skip_if_unavailable(st, id, gpu::why_unavailable());
}

benchmark::internal::Benchmark* register_gpu(const Config& c, RowSpec row, std::function<void(benchmark::State&)> fn) {
  return register_row(c, row.on_gpu(), std::move(fn));
}

template <class F>
void guarded(benchmark::State& st, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

// A row's prepared operation: inputs made, uploaded and checked against the oracle once per row. Google Benchmark
// calls a row's function several times (the iteration-count trials, then each repetition); redoing the setup
// each time would cost more than the timing (seconds per row at 8192^3). Only the last row's op is kept, so
// device memory holds one problem.
struct Prepared {
  std::unique_ptr<gpu::Op> op;
  double err = 0, nnz = 0;
};

template <class Make>
const Prepared& prepared(const std::string& key, Make&& make) {
  static std::string last_key;
  static Prepared last;
  if (last_key != key || !last.op) {
    last_key.clear();
    last = Prepared{};  // the previous row's device memory goes before this row's is taken
    last = make();
    last_key = key;
  }
  return last;
}

const gpu::DeviceInfo& device() {
  static const gpu::DeviceInfo d = gpu::device_info();
  return d;
}

// Host inputs shared by the consecutive rows of one problem (every precision's dense GEMM, every kernel on one
// pruned matrix): generated once, not once per row - at 28672 x 8192 that is seconds per row. One problem is kept.
template <class T, class Key, class Make>
const T& shared_input(const Key& key, Make&& make) {
  static std::unique_ptr<std::pair<Key, T>> last;
  if (!last || last->first != key) {
    last.reset();
    last = std::make_unique<std::pair<Key, T>>(key, make());
  }
  return last->second;
}

struct GemmInputs {
  std::vector<float> A, B;
};
const GemmInputs& gemm_inputs(const GemmShape& s, bool normal) {
  return shared_input<GemmInputs>(std::tuple{s.M, s.N, s.K, normal}, [&] {
    GemmInputs in{std::vector<float>(size_t(s.M * s.K)), std::vector<float>(size_t(s.K * s.N))};
    if (normal) {
      fill_normal(in.A, 11), fill_normal(in.B, 12);
    } else {
      fill_random(in.A, 11), fill_random(in.B, 12);
    }
    return in;
  });
}

struct PrunedWeights {
  std::vector<float> w;
  Csr csr;
};
const PrunedWeights& pruned_weights(index_t M, index_t K, const std::string& pattern, double sp) {
  return shared_input<PrunedWeights>(std::tuple{M, K, pattern, sp}, [&] {
    PrunedWeights p{std::vector<float>(size_t(M * K)), {}};
    fill_random(p.w, 21);
    apply_mask(p.w, make_mask(parse_pattern(pattern), p.w, M, K, sp, 17));
    p.csr = csr_from_dense(p.w, M, K);
    return p;
  });
}
const std::vector<float>& activations(index_t K, index_t N) {
  return shared_input<std::vector<float>>(std::pair{K, N}, [&] {
    std::vector<float> B(size_t(K * N));
    fill_random(B, 22);
    return B;
  });
}

// Times the op and labels the row with what the library chose (cuBLASLt's algorithm, cuDNN's, cuSPARSE's).
// `bytes`: the row's compulsory traffic; with l2_flush "auto" a row whose traffic fits in L2 is timed cold (each
// run after an L2 flush), since back-to-back runs would find their inputs in L2. Counters: l2_cold (1: timed
// cold), the SM and memory clocks NVML read after the row, and gpu_throttled (1: NVML gave a slowdown reason -
// power cap, thermal, hardware slowdown - before or after the row; the label names it).
void time_op(benchmark::State& st, gpu::Op& op, double bytes, const std::string& l2_flush) {
  using C = benchmark::Counter;
  const bool cold = l2_flush == "on" || (l2_flush == "auto" && bytes > 0 && bytes <= double(device().l2_bytes));
  const gpu::Clocks before = gpu::read_clocks(device().pci_bus_id);
  for (auto _ : st) st.SetIterationTime(op.time_ms(kInner, cold) * 1e-3);
  const gpu::Clocks after = gpu::read_clocks(device().pci_bus_id);
  st.counters["l2_cold"] = C(cold ? 1 : 0);
  std::string label = op.chosen();
  if (before.ok && after.ok) {
    const unsigned long long slow = (before.reasons | after.reasons) & gpu::kSlowdownReasons;
    st.counters["gpu_sm_mhz"] = C(after.sm_mhz);
    st.counters["gpu_mem_mhz"] = C(after.mem_mhz);
    st.counters["gpu_throttled"] = C(slow ? 1 : 0);
    if (slow) label += (label.empty() ? "" : " ") + std::string("[throttled: ") + gpu::reason_words(slow) + "]";
  }
  if (op.setup_ms() > 0) st.counters["setup_ms"] = C(op.setup_ms());
  if (!label.empty()) st.SetLabel(label);
}

double verify_all(const float* got, index_t M, index_t N, index_t K, const float* A, const float* B) {
  const auto rows = check_rows(M, double(N) * double(K));
  return verify_rows(got, N, K, A, K, B, rows, rows);
}

RowSpec gemm_gpu_spec(const std::string& id, const GemmShape& s, const std::string& dtype) {
  RowSpec r("gemm", id);
  r.p("M", s.M).p("N", s.N).p("K", s.K);
  if (!dtype.empty()) r.p("dtype", dtype);
  return r.dense();
}

void run_gemm_gpu(benchmark::State& st, const std::string& name, const std::string& id, const std::string& variant,
                  GemmShape s, double tol, const Precision& pr, const std::string& l2_flush, bool normal) {
  if (gpu_skip(st, id)) return;
  guarded(st, [&] {
    const Prepared& p = prepared(name, [&] {
      const GemmInputs& in = gemm_inputs(s, normal);
      AlignedBuffer<float> C(s.M * s.N);
      Prepared r;
      r.op = gpu::make_gemm(variant, s.M, s.N, s.K, in.A.data(), in.B.data());
      r.op->run();
      r.op->download(C.data());
      r.err = verify_all(C.data(), s.M, s.N, s.K, in.A.data(), in.B.data());
      return r;
    });
    if (skip_if_wrong(st, p.err, tol)) return;
    const double bytes = double(pr.in_bytes) * (s.M * s.K + s.K * s.N) + double(pr.out_bytes) * s.M * s.N;
    time_op(st, *p.op, bytes, l2_flush);
    set_dense_counters(st, 2.0 * s.M * s.N * s.K, bytes, p.err);
  });
}

void register_gemm_gpu(const Config& c, const gpu::GpuKernel& k, const GemmShape& s, bool normal = false) {
  RowSpec row = gemm_gpu_spec(k.info.id(), s, k.dtype).peer(k.info.library_peer);
  if (normal) row.p("inputs", "normal");
  const std::string name = row.name(), backend = row.backend, variant = k.factory, l2 = c.gpu.l2_flush;
  const double tol = precision_tolerance(k.computes_in(), s.K);
  const Precision pr = precision(k.computes_in());
  register_gpu(c, row, [=](benchmark::State& st) { run_gemm_gpu(st, name, backend, variant, s, tol, pr, l2, normal); });
}

// The dense rows sparse rows are judged against: the registry's library GEMMs (cuBLAS, cuBLASLt) at every
// precision, registered on each sparse problem's shape.
std::vector<const gpu::GpuKernel*> dense_baselines() {
  std::vector<const gpu::GpuKernel*> out;
  for (const auto& k : gpu::gpu_kernels())
    if (k.info.op == "gemm" && k.info.dense_baseline && k.info.backend != "cuda") out.push_back(&k);
  return out;
}

// An entry's "kernels" key (GPU registry ids) picks its kernels; without it every kernel that serves the pattern runs.
bool wanted(const SpmmEntry& e, const gpu::GpuKernel& k) {
  return e.kernels.empty() || std::find(e.kernels.begin(), e.kernels.end(), k.info.id()) != e.kernels.end();
}

}  // namespace

void register_gpu_rows(const Config& c) {
  if (!c.gpu.enabled) return;
  using C = benchmark::Counter;
  // Ceilings.
  for (index_t b : c.gpu.copy_bytes)
    for (const char* kind : {"d2d", "h2d_pinned", "h2d_pageable", "d2h_pinned"})
      register_gpu(c, RowSpec("mem_bw", std::string("cuda/") + kind).p("bytes", b), [b, kind](benchmark::State& st) {
        if (gpu_skip(st, "cuda")) return;
        guarded(st, [&] {
          double bps = 0;
          for (auto _ : st) {
            bps = gpu::copy_bandwidth(b, kind, kInner);
            st.SetIterationTime(static_cast<double>(b) * (std::string(kind) == "d2d" ? 2.0 : 1.0) / bps);
          }
          st.counters["bytes_per_second"] = C(bps);
        });
      });
  for (index_t b : c.gpu.chase_bytes)
    register_gpu(c, RowSpec("mem_lat", "cuda/chase").p("bytes", b), [b](benchmark::State& st) {
      if (gpu_skip(st, "cuda")) return;
      guarded(st, [&] {
        double ns = 0;
        for (auto _ : st) st.SetIterationTime((ns = gpu::chase_ns_per_load(b)) * 1e-9 * (1 << 20));
        st.counters["ns_per_load"] = C(ns);
      });
    });
  if (!c.gpu.copy_bytes.empty()) {
    for (bool graph : {false, true})
      register_gpu(c, RowSpec("latency_op", graph ? "cuda/launch_graph" : "cuda/launch"), [graph](benchmark::State& st) {
        if (gpu_skip(st, "cuda")) return;
        guarded(st, [&] {
          double us = 0;
          for (auto _ : st) st.SetIterationTime((us = gpu::launch_latency_us(graph, 1000)) * 1e-6 * 1000);
          st.counters["ns_per_op"] = C(us * 1e3);
        });
      });
    register_gpu(c, RowSpec("latency_op", "cuda/fma").p("dtype", "f32"), [](benchmark::State& st) {
      if (gpu_skip(st, "cuda")) return;
      guarded(st, [&] {
        double ns = 0;
        for (auto _ : st) st.SetIterationTime((ns = gpu::fma_latency_ns()) * 1e-9 * (1 << 20));
        st.counters["ns_per_op"] = C(ns);
      });
    });
    register_gpu(c, RowSpec("peak", "cuda/fma").p("dtype", "f32"), [](benchmark::State& st) {
      if (gpu_skip(st, "cuda")) return;
      guarded(st, [&] {
        double f = 0;
        for (auto _ : st) {
          f = gpu::fma_peak_flops(kInner);
          st.SetIterationTime(1e-3);  // the rate is the measurement; the time is nominal
        }
        st.counters["flops"] = C(f);
      });
    });
  }
  // GEMM: ours, and cuBLAS in three precisions (the tensor-core roofs), as the registry lists them.
  for (const GemmShape& s : c.gpu.gemm)
    for (const auto& k : gpu::gpu_kernels()) {
      if (k.info.op != "gemm") continue;
      if (k.info.variant == "naive" && 2e-9 * s.M * s.N * s.K > 50) continue;  // one thread per output: where it ends
      for (const std::string& inputs : c.gpu.gemm_inputs)
        if (inputs == "uniform" || k.info.backend != "cuda") register_gemm_gpu(c, k, s, inputs == "normal");
    }
  // SpMM, with dense baselines on the same shape at every precision a user of its sparse rows could accept.
  std::set<std::tuple<index_t, index_t, index_t>> dense_done;
  for (const GemmShape& s : c.gpu.gemm) dense_done.insert({s.M, s.N, s.K});  // those shapes have every GEMM already
  for (const SpmmEntry& e : c.gpu.spmm)
    for (index_t N : e.N) {
      // Every precision, not only those the sparse rows accept: the report also shows each sparse row against the
      // fastest dense kernel at any precision (an FP32 SpMM against BF16 dense), the question a deployer asks.
      if (dense_done.insert({e.M, N, e.K}).second)
        for (const auto* dense : dense_baselines()) register_gemm_gpu(c, *dense, GemmShape{e.M, N, e.K});
      for (const auto& pattern : e.patterns)
        for (double sp : e.sparsity) {
          const PatternSpec spec = parse_pattern(pattern);
          for (const auto& k : gpu::gpu_kernels()) {
            if (k.info.op != "spmm" || !k.info.serves(pattern) || !wanted(e, k)) continue;
            const std::string id = k.info.id(), variant = k.factory, l2 = c.gpu.l2_flush;
            const Precision pr = precision(k.computes_in());
            RowSpec row("spmm", id);
            row.peer(k.info.library_peer);
            row.p("M", e.M).p("N", N).p("K", e.K).p("sparsity", sparsity_str(sp)).p("pattern", pattern);
            if (!k.dtype.empty()) row.p("dtype", k.dtype);
            const std::string name = row.name();
            register_gpu(c, row, [name, e, N, sp, id, variant, pr, spec, l2, pattern](benchmark::State& st) {
              if (gpu_skip(st, id)) return;
              guarded(st, [&] {
                const Prepared& p = prepared(name, [&] {
                  const PrunedWeights& pw = pruned_weights(e.M, e.K, pattern, sp);
                  const std::vector<float>& B = activations(e.K, N);
                  AlignedBuffer<float> Cout(e.M * N);
                  Prepared r;
                  r.op = gpu::make_spmm(variant, pw.csr, N, B.data(), spec.kind == PatternSpec::block ? spec.r : 0);
                  r.op->run();
                  r.op->download(Cout.data());
                  r.err = verify_all(Cout.data(), e.M, N, e.K, pw.w.data(), B.data());
                  r.nnz = double(pw.csr.nnz());
                  return r;
                });
                // Tensor-core kernels (inputs rounded to the row's precision): that precision's tolerance.
                if (skip_if_wrong(st, p.err, precision_tolerance(pr.dtype, e.K))) return;
                // Weights as the kernel reads them: the library's own format where it has one (cuSPARSELt's
                // compressed values and metadata), else values at the row's precision and 4-byte indices.
                const double weights = p.op->weight_bytes() > 0 ? p.op->weight_bytes()
                                                                : (pr.in_bytes + 4.0) * p.nnz + 4.0 * (e.M + 1);
                const double bytes = weights + double(pr.in_bytes) * e.K * N + double(pr.out_bytes) * e.M * N;
                time_op(st, *p.op, bytes, l2);
                set_sparse_counters(st, 2.0 * p.nnz * N, 2.0 * e.M * N * e.K, bytes, p.err, 1.0 - p.nnz / double(e.M * e.K), p.nnz);
              });
            });
          }
        }
    }
  // Convolution: ours (direct) and cuDNN, dense.
  for (const ConvEntry& e : c.gpu.conv) {
    const ConvShape s = e.shape;
    for (const auto& k : gpu::gpu_kernels()) {
      if (k.info.op != "conv") continue;
      const std::string id = k.info.id(), variant = k.factory, l2 = c.gpu.l2_flush;
      RowSpec row("conv", id);
      row.peer(k.info.library_peer);
      row.p("N", s.N).p("C", s.C).p("H", s.H).p("W", s.W).p("K", s.K).p("R", s.R).p("S", s.S).p("stride", s.stride);
      row.p("pad", s.pad).p("sparsity", "0.00").dense();
      const std::string name = row.name();
      register_gpu(c, row, [name, s, id, variant, l2](benchmark::State& st) {
        if (gpu_skip(st, id)) return;
        guarded(st, [&] {
          const Prepared& p = prepared(name, [&] {
            AlignedBuffer<float> x(s.N * s.C * s.H * s.W), w(s.K * s.C * s.R * s.S), y(s.N * s.K * s.OH() * s.OW());
            fill_random(x.span(), 31), fill_random(w.span(), 32);
            Prepared r;
            r.op = gpu::make_conv(variant, s, x.data(), w.data());
            r.op->run();
            r.op->download(y.data());
            // Every output channel of every image against the oracle (the whole reduction over C x R x S).
            r.err = conv_error(s, x.data(), w.data(), y.data());
            return r;
          });
          if (skip_if_wrong(st, p.err, std::max(1e-3, ref::dot_tolerance(s.C * s.R * s.S)))) return;
          const double bytes = 4.0 * (s.N * s.C * s.H * s.W + s.K * s.C * s.R * s.S + s.N * s.K * s.OH() * s.OW());
          time_op(st, *p.op, bytes, l2);
          set_sparse_counters(st, s.flops(), s.flops(), bytes, p.err, 0.0, double(s.K * s.C * s.R * s.S));
        });
      });
    }
  }
}

}  // namespace pb::bench
