// Memory ceilings: mem_bw/<backend>/<op>/bytes:<B>/threads:<T> and mem_lat/naive/<pattern>/bytes:<B>.
//
// Cache state: each row measures the steady state of one working set, warm in whichever level it fits — that is
// the point: the sweep from 4 KiB to several times the last-level cache walks the hierarchy, and the plateaus
// are the per-level ceilings. bytes:B is the total footprint (split evenly between the arrays a kernel touches),
// so every family's x axis is the working set. Bandwidth counts bytes as STREAM does (each element read or
// written once per pass, no write-allocate traffic; the *_nt rows avoid it for real).
// mem_lat patterns: chase (random cycle, 4 KiB pages), chase_huge (the same on transparent huge pages, where the
// OS grants them), stride (sequential cycle: what the hardware prefetcher hides).
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>

#include "bench_util.h"
#include "prunebench/memory.h"

namespace pb::bench {

namespace {

// Each timed call moves at least this much, so a 4 KiB working set is not measured by one tiny loop.
constexpr index_t kMinBytesPerCall = index_t{64} << 20;
constexpr std::int64_t kChaseSteps = 1 << 20;

struct Buffer {
  double* p = nullptr;
  void* base = nullptr;
  // huge: 2 MiB aligned and advised for transparent huge pages, so the chase sees the caches without the TLB
  // misses 4 KiB pages add once the working set outgrows the TLB's reach.
  // offset: bytes past a page boundary where the data starts. The arrays of one bandwidth kernel start at
  // different offsets, so a load from one and a store to another never share their low 12 address bits (4K
  // aliasing: the core then takes the load as dependent on the store and replays it; STREAM offsets its arrays
  // for the same reason).
  explicit Buffer(std::size_t bytes, bool huge = false, std::size_t offset = 0) {
    const std::size_t align = huge ? (std::size_t{2} << 20) : 4096;
    base = std::aligned_alloc(align, (bytes + offset + align - 1) / align * align);
    if (!base) throw std::bad_alloc();
    if (huge) madvise(base, (bytes + offset + align - 1) / align * align, MADV_HUGEPAGE);
    p = reinterpret_cast<double*>(static_cast<char*>(base) + offset);
  }
  ~Buffer() { std::free(base); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

void run_bw(benchmark::State& st, const BwKernel& k, index_t bytes, int threads) {
  if (skip_if_unavailable(st, k.info.id(), k.info.why_unavailable())) return;
  const int arrays = bwop_arrays(k.op);
  const std::size_t n = static_cast<std::size_t>(bytes / arrays / 8) / 8 * 8;
  if (n == 0) {
    st.SkipWithError("working set too small for this kernel");
    return;
  }
  Buffer a(n * 8), b(arrays >= 3 ? n * 8 : 8, false, 1088), c(arrays >= 2 ? n * 8 : 8, false, 2176);
  const std::int64_t passes = std::max<index_t>(1, kMinBytesPerCall / std::max<index_t>(bytes, 1));
  BwArgs g{a.p, arrays >= 3 ? b.p : nullptr, arrays >= 2 ? c.p : nullptr, n, passes, threads, 3.0};
  bw_init(g);
  if (!g.b) g.b = b.p;
  k.run(k.op, {g.a, g.b, g.c, g.n, 1, threads, g.s});  // warm-up pass: pages mapped, caches filled
  double sink = 0.0;
  for (auto _ : st) sink += k.run(k.op, g);
  benchmark::DoNotOptimize(sink);
  st.counters["bytes_per_second"] =
      benchmark::Counter(static_cast<double>(n) * 8.0 * arrays * passes, benchmark::Counter::kIsIterationInvariantRate);
}

void run_lat(benchmark::State& st, bool random, bool huge, index_t bytes) {
  const std::size_t stride = 64, lines = static_cast<std::size_t>(bytes) / stride;
  if (lines < 2) {
    st.SkipWithError("working set too small for a chase");
    return;
  }
  Buffer buf(lines * stride, huge);
  build_chase_ring(buf.p, lines, stride, random, 42);
  void* p = chase(buf.p, static_cast<std::int64_t>(std::min<std::size_t>(lines, std::size_t{1} << 22)));  // warm
  for (auto _ : st) p = chase(p, kChaseSteps);
  benchmark::DoNotOptimize(p);
  using C = benchmark::Counter;
  st.counters["ns_per_load"] = C(kChaseSteps * 1e-9, C::kIsIterationInvariantRate | C::kInvert);
}

}  // namespace

void register_memory(const Config& c) {
  if (c.mem_bw.enabled) {
    for (const auto& op : c.mem_bw.kinds)
      for (index_t bytes : c.mem_bw.bytes)
        for (const auto& k : bw_kernels()) {
          if (k.info.variant != op) continue;
          for (int t : c.threads) {
            if (!k.threaded && t != 1) continue;
            register_row(c, RowSpec("mem_bw", k.info.id()).p("bytes", bytes).p("threads", t),
                         [&k, bytes, t](benchmark::State& st) { run_bw(st, k, bytes, t); });
          }
        }
  }
  if (c.mem_lat.enabled) {
    for (const auto& pattern : c.mem_lat.kinds)
      for (index_t bytes : c.mem_lat.bytes)
        register_row(c, RowSpec("mem_lat", "naive/" + pattern).p("bytes", bytes),
                     [random = pattern != "stride", huge = pattern == "chase_huge", bytes](benchmark::State& st) {
                       run_lat(st, random, huge, bytes);
                     });
  }
}

}  // namespace pb::bench
