// Sparse weights (M x K) times dense activations (K x N), row-major: C = W * B (C overwritten).
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "prunebench/prune.h"
#include "prunebench/registry.h"
#include "prunebench/sparse.h"

namespace pb {

// One pruned weight matrix in the formats kernels ask for; the benchmark builds only the one a kernel names in
// its KernelInfo::formats, outside the timed region.
// A library's own form of a set of weights (oneMKL's analysed handle): made by its kernel on the first call
// for these weights (in a benchmark, the verification call before timing) and reused by the timed calls. `key`
// names what it was made for (N, threads). A copy of the weights starts without one: a handle points into the
// arrays of the weights that made it.
struct PreparedForm {
  std::shared_ptr<void> handle;
  std::string key;
  double setup_seconds = 0;  // what making it cost (benchmarks report it as setup_ms, apart from the timed calls)
  std::string chosen;  // what a kernel that picks at set-up picked (csr_auto, conv sparse_auto), for the row's label
  // The form made for `k`: make() (a shared_ptr to it) is called when the slot holds another, and its cost is
  // recorded. Safe when several threads run kernels on the same weights at once: the convolution's im2col route
  // runs one single-threaded SpMM per thread, each on its own columns.
  template <class Make>
  const void* get(const std::string& k, Make&& make) {
    const std::lock_guard<std::recursive_mutex> lock(mutex_);
    if (key != k) {
      const auto t0 = std::chrono::steady_clock::now();
      handle = make();
      key = k;
      setup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    return handle.get();
  }
  PreparedForm() = default;
  PreparedForm(const PreparedForm&) {}
  PreparedForm& operator=(const PreparedForm&) {
    handle.reset();
    key.clear();
    setup_seconds = 0;
    chosen.clear();
    return *this;
  }

 private:
  // One lock per set of weights, held while its form is made. Not one for all weights: a kernel that picks at set-up
  // (openmp/csr_auto, conv/openmp/sparse_auto) holds its own while it runs the candidates on their copies, and a
  // candidate may make its form on the copy from inside a parallel region (the im2col route runs one SpMM per
  // thread), whose other threads would wait forever on a lock the first thread holds. Recursive: a kernel whose
  // set-up runs another on the same weights takes it again on the same thread.
  std::recursive_mutex mutex_;
};

struct SparseWeights {
  index_t M = 0, K = 0;
  Csr csr;
  Bsr bsr;
  NmMatrix nm;
  mutable PreparedForm prepared;
};

struct SpmmArgs {
  const SparseWeights* W = nullptr;
  index_t N = 0;
  const float* B = nullptr;  // K x N, row stride ldb
  index_t ldb = 0;
  float* C = nullptr;  // M x N, row stride ldc
  index_t ldc = 0;
  int threads = 1;
};
using SpmmFn = void (*)(const SpmmArgs&);

void spmm_naive_csr(const SpmmArgs& a);
void spmm_eigen_csr(const SpmmArgs& a);
void spmm_openmp_bsr(const SpmmArgs& a);
void spmm_openmp_nm(const SpmmArgs& a);
void spmm_openmp_csr_l1(const SpmmArgs& a);  // K panels whose B slice fills L1
void spmm_mkl_csr(const SpmmArgs& a);

const std::vector<Kernel<SpmmFn>>& spmm_kernels();
// The openmp part of it: the widest ISA instance of spmm_openmp_impl.h's table that this CPU runs.
const std::vector<Kernel<SpmmFn>>& spmm_openmp_kernels();

// SpMM rows that run a GEMM kernel on the pruned weights instead of a sparse kernel: the dense product on the
// masked weights ("masked": what pruning costs without a sparse kernel) and, for structured pruning, the smaller
// dense problem left once rows or channels are removed ("structured"). Listed beside the sparse kernels so the
// config, the benchmarks and --list-kernels read one table.
struct SpmmDenseRoute {
  KernelInfo info;
  std::string gemm_backend;  // the gemm registry's kernel that runs it
  bool compact;              // true: the smaller dense problem; false: the full problem on masked weights
};
const std::vector<SpmmDenseRoute>& spmm_dense_routes();
// Every spmm kernel id ("openmp/csr", "openmp/masked", ...): what the config's "kernels" key may name.
std::vector<std::string> spmm_kernel_ids();
// The openmp kernels compiled for each ISA this CPU runs (AVX-512, AVX2, generic), for the tests: dispatch picks
// the widest, so without this the narrower paths would never run on a wide host.
std::vector<std::pair<std::string, Kernel<SpmmFn>>> spmm_openmp_isa_variants();
const Kernel<SpmmFn>* find_spmm_kernel(const std::string& backend, const std::string& format);


// Row ranges of equal work: boundaries[t]..boundaries[t+1] for part t of `parts`, cut where the cumulative
// non-zero count (plus one per row, for the output write) crosses t/parts of the total. Real pruned layers have
// very uneven rows; splitting by rows would leave threads idle.
std::vector<index_t> balance_rows(const std::vector<std::int32_t>& rowptr, int parts);

}  // namespace pb
