// Memory ceilings: streaming bandwidth kernels (STREAM's four plus non-temporal stores) and pointer chasing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "prunebench/registry.h"

namespace pb {

// STREAM's kernels on double arrays of n elements; `passes` sweeps per call (inside one parallel region, so a
// small working set is not drowned by fork/join). Bytes are counted as STREAM does: each array element read or
// written once per pass, no write-allocate traffic.
//   read:  s += a[i]                write: a[i] = s
//   copy:  c[i] = a[i]              triad: a[i] = b[i] + s * c[i]
// The *_nt variants store with non-temporal (streaming) stores that bypass the caches.
enum class BwOp { read, write, copy, triad, write_nt, copy_nt, triad_nt };
const char* bwop_name(BwOp op);
int bwop_arrays(BwOp op);  // arrays touched (the working set is split evenly between them)

struct BwArgs {
  double* a;
  double* b;
  double* c;
  std::size_t n;
  std::int64_t passes;
  int threads;
  double s;
};
// Returns a value that depends on the data (the read sum, or one written element) so nothing is dead code.
using BwFn = double (*)(BwOp, const BwArgs&);

double bw_naive(BwOp, const BwArgs&);
double bw_eigen(BwOp, const BwArgs&);
double bw_openmp(BwOp, const BwArgs&);

struct BwKernel {
  KernelInfo info;  // variant = op name
  BwOp op;
  BwFn run;
  bool threaded;
};
const std::vector<BwKernel>& bw_kernels();

// Fills arrays in parallel with the same static split the openmp kernels use, so pages are first touched by
// the thread that later streams them.
void bw_init(const BwArgs& a);

// Pointer chase. The buffer is `lines` slots of `stride` bytes; each slot's first word points to the next slot
// of one cycle through all of them: a random cycle (Sattolo's algorithm: every slot visited, in an order no
// prefetcher can guess) or the sequential one (slot i -> i+1, what a stride prefetcher hides).
void build_chase_ring(void* buf, std::size_t lines, std::size_t stride, bool random, std::uint64_t seed);
// Follows `steps` pointers from start; returns where it stopped (feed it back in to continue the chase).
void* chase(void* start, std::int64_t steps);

}  // namespace pb
