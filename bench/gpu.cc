// GPU rows (CUDA backends): ceilings, GEMM, SpMM, convolution. Names follow the CPU families; GPU rows carry no
// threads key (and gemm/cublas a dtype key: f32, tf32, bf16). Timing: CUDA events around back-to-back launches
// on the op's stream after a warm-up (UseManualTime), inputs on the device before timing; every CUDA call is
// checked and a failure becomes the row's error. Verification: the output is copied back and compared with the
// float64 oracle on the host before timing.
#include <set>

#include "bench_util.h"
#include "prunebench/gpu.h"
#include "prunebench/prune.h"
#include "prunebench/reference.h"

namespace pb::bench {

namespace {

// Launches per timed iteration: enough to amortize the event overhead on microsecond kernels.
constexpr int kInner = 10;

// Tensor-core rows: inputs rounded to TF32 or BF16 (10 or 7 mantissa bits) before the FP32 accumulation.
double lowp_tolerance(index_t K) { return std::max(1e-2, 4e-3 * std::sqrt(static_cast<double>(K))); }

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

// Times the op and labels the row with what the library chose (cuBLASLt's algorithm, cuDNN's, cuSPARSE's).
void time_op(benchmark::State& st, gpu::Op& op) {
  for (auto _ : st) st.SetIterationTime(op.time_ms(kInner) * 1e-3);
  if (const std::string c = op.chosen(); !c.empty()) st.SetLabel(c);
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
                  GemmShape s, double tol, double elem) {
  if (gpu_skip(st, id)) return;
  guarded(st, [&] {
    const Prepared& p = prepared(name, [&] {
      AlignedBuffer<float> A(s.M * s.K), B(s.K * s.N), C(s.M * s.N);
      fill_random(A.span(), 11), fill_random(B.span(), 12);
      Prepared r;
      r.op = gpu::make_gemm(variant, s.M, s.N, s.K, A.data(), B.data());
      r.op->run();
      r.op->download(C.data());
      r.err = verify_all(C.data(), s.M, s.N, s.K, A.data(), B.data());
      return r;
    });
    if (skip_if_wrong(st, p.err, tol)) return;
    time_op(st, *p.op);
    set_dense_counters(st, 2.0 * s.M * s.N * s.K, elem * (s.M * s.K + s.K * s.N + s.M * s.N), p.err);
  });
}

void register_gemm_gpu(const Config& c, const gpu::GpuKernel& k, const GemmShape& s) {
  const RowSpec row = gemm_gpu_spec(k.info.id(), s, k.dtype).peer(k.info.library_peer);
  const std::string name = row.name(), backend = row.backend, variant = k.factory;
  const double tol = k.lowp ? lowp_tolerance(s.K) : ref::dot_tolerance(s.K);
  const double elem = k.dtype == "bf16" ? 2.0 : 4.0;  // bytes per element moved
  register_gpu(c, row, [=](benchmark::State& st) { run_gemm_gpu(st, name, backend, variant, s, tol, elem); });
}

// The dense FP32 baseline every GPU SpMM row is judged against: the registry's FP32 library GEMM (cuBLAS).
const gpu::GpuKernel* dense_fp32_gemm() {
  for (const auto& k : gpu::gpu_kernels())
    if (k.info.op == "gemm" && k.dtype == "f32") return &k;
  return nullptr;
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
      register_gemm_gpu(c, k, s);
    }
  // SpMM with the dense cuBLAS FP32 baseline at the same shape.
  std::set<std::tuple<index_t, index_t, index_t>> dense_done;
  for (const SpmmEntry& e : c.gpu.spmm)
    for (index_t N : e.N) {
      const GemmShape d{e.M, N, e.K};
      if (const auto* dense = dense_fp32_gemm(); dense && dense_done.insert({e.M, N, e.K}).second)
        register_gemm_gpu(c, *dense, d);
      for (const auto& pattern : e.patterns)
        for (double sp : e.sparsity) {
          const PatternSpec spec = parse_pattern(pattern);
          for (const auto& k : gpu::gpu_kernels()) {
            if (k.info.op != "spmm" || !k.info.serves(pattern)) continue;
            const std::string id = k.info.id(), variant = k.factory;
            const bool lowp = k.lowp;
            RowSpec row("spmm", id);
            row.peer(k.info.library_peer);
            row.p("M", e.M).p("N", N).p("K", e.K).p("sparsity", sparsity_str(sp)).p("pattern", pattern);
            const std::string name = row.name();
            register_gpu(c, row, [name, e, N, sp, id, variant, lowp, spec](benchmark::State& st) {
              if (gpu_skip(st, id)) return;
              guarded(st, [&] {
                const Prepared& p = prepared(name, [&] {
                  std::vector<float> w(static_cast<std::size_t>(e.M * e.K));
                  fill_random(w, 21);
                  apply_mask(w, make_mask(spec, w, e.M, e.K, sp, 17));
                  const Csr csr = csr_from_dense(w, e.M, e.K);
                  AlignedBuffer<float> B(e.K * N), Cout(e.M * N);
                  fill_random(B.span(), 22);
                  Prepared r;
                  r.op = gpu::make_spmm(variant, csr, N, B.data(), spec.kind == PatternSpec::block ? spec.r : 0);
                  r.op->run();
                  r.op->download(Cout.data());
                  r.err = verify_all(Cout.data(), e.M, N, e.K, w.data(), B.data());
                  r.nnz = double(csr.nnz());
                  return r;
                });
                // Tensor-core kernels (Blocked-ELL rounds FP32 inputs to TF32): the low-precision tolerance.
                const double tol = lowp ? lowp_tolerance(e.K) : ref::dot_tolerance(e.K);
                if (skip_if_wrong(st, p.err, tol)) return;
                time_op(st, *p.op);
                set_sparse_counters(st, 2.0 * p.nnz * N, 2.0 * e.M * N * e.K, 8.0 * p.nnz + 4.0 * (e.M + 1 + e.K * N + e.M * N),
                                    p.err, 1.0 - p.nnz / double(e.M * e.K), p.nnz);
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
      const std::string id = k.info.id(), variant = k.factory;
      RowSpec row("conv", id);
      row.peer(k.info.library_peer);
      row.p("N", s.N).p("C", s.C).p("H", s.H).p("W", s.W).p("K", s.K).p("R", s.R).p("S", s.S).p("stride", s.stride);
      row.p("pad", s.pad).p("sparsity", "0.00").dense();
      const std::string name = row.name();
      register_gpu(c, row, [name, s, id, variant](benchmark::State& st) {
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
          time_op(st, *p.op);
          const double bytes = 4.0 * (s.N * s.C * s.H * s.W + s.K * s.C * s.R * s.S + s.N * s.K * s.OH() * s.OW());
          set_sparse_counters(st, s.flops(), s.flops(), bytes, p.err, 0.0, double(s.K * s.C * s.R * s.S));
        });
      });
    }
  }
}

}  // namespace pb::bench
