// Helpers every benchmark family shares: names, verification before timing, the contract's counters.
#pragma once
#include <benchmark/benchmark.h>

#include <functional>
#include <string>
#include <vector>

#include "config.h"
#include "row_spec.h"
#include "verify_sample.h"
#include "prunebench/conv.h"

namespace pb::bench {

// Registers every family the config asks for (one function per family file).
void register_gemm(const Config& c);
void register_gemm_shape(const Config& c, const GemmShape& s);  // every gemm backend at one shape, once
void register_spmm(const Config& c);
void register_conv(const Config& c);
void register_gpu_rows(const Config& c);
void register_peak(const Config& c);    // peak, latency_op
void register_memory(const Config& c);  // mem_bw, mem_lat

// This core's clock, measured once per run (bench/peak.cc); turns latencies into cycles.
double measured_clock_ghz();

// The context block of docs/design.md (versions, flags, CPU, library core types), added once in main().
void add_context(const Config& c);
// The kernel set OpenBLAS runs with ("Haswell", "SkylakeX", "Prescott" when it misdetects), or "not built".
std::string openblas_corename();
// Restarts the process with OPENBLAS_CORETYPE set when OpenBLAS picked kernels below the CPU's ISA, and with a short
// OPENBLAS_THREAD_TIMEOUT unless the user set one (context.cc).
void match_openblas_to_cpu(char** argv);
// PB_MAX_ISA (cpu.h): asks oneDNN and oneMKL to stay below the cap too (before either loads).
void apply_isa_cap();

// Registers one row with the settings every row shares: real time (threads and GPUs make CPU time meaningless),
// the config's min_time and repetitions. Records the name for the progress count.
// manual_time: the row reports its own time (CUDA events) through SetIterationTime.
// The row's device decides its clock: GPU rows report CUDA-event time (UseManualTime).
benchmark::internal::Benchmark* register_row(const Config& c, const RowSpec& row,
                                             std::function<void(benchmark::State&)> fn);
// How many registered rows a --benchmark_filter value selects (Google Benchmark's rule: regex search, a leading
// '-' negates; empty selects all).
std::size_t count_matching(const std::string& filter);


// Skips the row with "<id> unsupported: <why>" when the kernel cannot run here; true if skipped.
bool skip_if_unavailable(benchmark::State& st, const std::string& id, const std::string& why);

// Skips the row when the pre-timing check failed; true if skipped. The error goes into the message so the JSON
// says by how much the kernel was wrong.
bool skip_if_wrong(benchmark::State& st, double max_rel_err, double tolerance);



// max_rel_err of rows out_rows of C (row stride N) against the float64 product of rows a_rows of A (row stride
// lda, K columns) and B (K x N, row stride N); out_rows[i] of C corresponds to a_rows[i] of A.
double verify_rows(const float* C, index_t N, index_t K, const float* A, index_t lda, const float* B,
                   const std::vector<index_t>& out_rows, const std::vector<index_t>& a_rows);



// max_rel_err (per image and channel) of a convolution's output y, N x K x OH x OW, against the float64 oracle of
// x and w, on the images check_images() picks.
double conv_error(const ConvShape& s, const float* x, const float* w, const float* y);

// flops (useful), bytes_per_second (compulsory traffic), ai, max_rel_err — per iteration values, turned into
// rates by Google Benchmark with the benchmark's own clock (real time for every family that threads).
void set_dense_counters(benchmark::State& st, double flop_per_iter, double bytes_per_iter, double max_rel_err);
// The above plus sparsity, nnz and dense_flops (the dense-equivalent rate 2*M*N*K per second, so a speedup
// over dense reads directly as dense_flops / the dense row's flops).
void set_sparse_counters(benchmark::State& st, double flop_per_iter, double dense_flop_per_iter,
                         double bytes_per_iter, double max_rel_err, double sparsity, double nnz);

// "0.90": sparsities in names always have two decimals.
std::string sparsity_str(double s);

}  // namespace pb::bench
