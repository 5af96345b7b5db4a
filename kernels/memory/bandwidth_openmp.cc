// openmp bandwidth: each thread streams its own contiguous slice (the same static split bw_init first-touched),
// with the widest SIMD the CPU has: the chunk functions are compiled in several ISA versions (GCC
// target_clones) and the loader picks one at start-up. All passes run inside one parallel region, so small
// working sets measure the cache, not fork/join.
#include <omp.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define PB_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), noinline))
#else
#define PB_CLONES __attribute__((noinline))
#endif

#include <algorithm>

#include "prunebench/cpu.h"
#include "prunebench/memory.h"

namespace pb {

namespace {

// L1d size, read from sysfs once (16 KiB where the OS does not say).
std::size_t l1_bytes() {
  static const std::size_t b = static_cast<std::size_t>(std::max<std::int64_t>(cpu::cache_bytes(1), 16384));
  return b;
}

// Each kernel runs all its passes itself, so a small working set pays one call per timed call rather than one
// per pass: the read's partial sums stay in registers from pass to pass and are folded once. Per pass, the call
// and the fold cost as much as streaming a 24 KiB L1 slice (~190 cycles): the L1 read measured 265-345 GB/s and
// the copy 0.81x of likwid-bench's load_avx512 / copy_avx512 (2-core Emerald Rapids).
PB_CLONES double chunk(BwOp op, double* __restrict a, double* __restrict b, double* __restrict c, std::size_t n,
                       double s, std::int64_t passes) {
  switch (op) {
    case BwOp::read: {
      // 64 partial sums = 8 AVX-512 or 16 AVX2 accumulators (the adds take a memory operand, so 16 fit AVX2's 16
      // registers): two loads per cycle need two adds per cycle, and with a 4-cycle add latency that is 8 chains.
      // A slice larger than L1 streams from L2 or beyond: there a software prefetch 2 KiB ahead, one per line,
      // keeps more lines in flight than the hardware prefetchers do (L2 read 0.80-0.90x of likwid-bench
      // load_avx512 without, 0.93-0.97x with; 2-core Emerald Rapids). Inside L1 the prefetches would only take
      // load slots (the L1 read fell from ~600 to ~380 GB/s with them).
      double acc[64] = {};
      double tail = 0.0;
      const std::size_t body = n / 64 * 64;
      const bool beyond_l1 = n * sizeof(double) > l1_bytes();
      for (std::int64_t p = 0; p < passes; ++p) {
        if (beyond_l1) {
          for (std::size_t i = 0; i < body; i += 64) {
            for (int l = 0; l < 64; l += 8) __builtin_prefetch(a + i + l + 256, 0, 3);
#pragma omp simd
            for (int j = 0; j < 64; ++j) acc[j] += a[i + j];
          }
        } else {
          for (std::size_t i = 0; i < body; i += 64)
#pragma omp simd
            for (int j = 0; j < 64; ++j) acc[j] += a[i + j];
        }
        for (std::size_t i = body; i < n; ++i) tail += a[i];
      }
      for (int w = 32; w >= 1; w /= 2)
#pragma omp simd
        for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
      return acc[0] + tail;
    }
    case BwOp::write:
      for (std::int64_t p = 0; p < passes; ++p) {
#pragma omp simd
        for (std::size_t i = 0; i < n; ++i) a[i] = s;
        asm volatile("" ::: "memory");  // every pass stores: the compiler may not fold repeated passes into one
      }
      break;
    case BwOp::copy:
      for (std::int64_t p = 0; p < passes; ++p) {
#pragma omp simd
        for (std::size_t i = 0; i < n; ++i) c[i] = a[i];
        asm volatile("" ::: "memory");
      }
      break;
    case BwOp::triad:
      for (std::int64_t p = 0; p < passes; ++p) {
#pragma omp simd
        for (std::size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
        asm volatile("" ::: "memory");
      }
      break;
    default:
      break;
  }
  return n ? (op == BwOp::copy ? c[n / 2] : a[n / 2]) : 0.0;
}

#if defined(__x86_64__)
// Non-temporal stores (SSE2 movntpd, on every x86-64): the line goes to memory without being read first, so
// there is no write-allocate traffic and the caches are not polluted. Slices start 64-byte aligned.
__attribute__((noinline)) double chunk_nt(BwOp op, double* a, const double* b, const double* c, std::size_t n,
                                          double s) {
  const std::size_t n2 = n & ~std::size_t{1};
  const __m128d vs = _mm_set1_pd(s);
  switch (op) {
    case BwOp::write_nt:
      for (std::size_t i = 0; i < n2; i += 2) _mm_stream_pd(a + i, vs);
      break;
    case BwOp::copy_nt:  // c = a, as copy
      for (std::size_t i = 0; i < n2; i += 2) _mm_stream_pd(const_cast<double*>(c) + i, _mm_load_pd(a + i));
      break;
    case BwOp::triad_nt:
      for (std::size_t i = 0; i < n2; i += 2)
        _mm_stream_pd(a + i, _mm_add_pd(_mm_load_pd(b + i), _mm_mul_pd(vs, _mm_load_pd(c + i))));
      break;
    default:
      break;
  }
  _mm_sfence();
  if (n2 < n) chunk(op == BwOp::write_nt ? BwOp::write : op == BwOp::copy_nt ? BwOp::copy : BwOp::triad,
                    a + n2, const_cast<double*>(b) + n2, const_cast<double*>(c) + n2, n - n2, s, 1);
  return n ? (op == BwOp::copy_nt ? c[n / 2] : a[n / 2]) : 0.0;
}
#endif

bool is_nt(BwOp op) { return op == BwOp::write_nt || op == BwOp::copy_nt || op == BwOp::triad_nt; }

// Thread t's slice [lo, hi): equal shares rounded to 8 doubles (64 bytes), so slices never share a line.
void slice(std::size_t n, int t, int nt, std::size_t& lo, std::size_t& hi) {
  const std::size_t per = ((n + nt - 1) / nt + 7) / 8 * 8;
  lo = std::min(n, per * t);
  hi = std::min(n, lo + per);
}

}  // namespace

double bw_openmp(BwOp op, const BwArgs& g) {
  double total = 0.0;
#pragma omp parallel num_threads(g.threads) reduction(+ : total)
  {
    std::size_t lo, hi;
    slice(g.n, omp_get_thread_num(), omp_get_num_threads(), lo, hi);
#if defined(__x86_64__)
    if (is_nt(op)) {
      for (std::int64_t p = 0; p < g.passes; ++p) total += chunk_nt(op, g.a + lo, g.b + lo, g.c + lo, hi - lo, g.s);
    } else
#endif
      total += chunk(op, g.a + lo, g.b + lo, g.c + lo, hi - lo, g.s, g.passes);
  }
  return total;
}

void bw_init(const BwArgs& g) {
#pragma omp parallel num_threads(g.threads)
  {
    std::size_t lo, hi;
    slice(g.n, omp_get_thread_num(), omp_get_num_threads(), lo, hi);
    for (std::size_t i = lo; i < hi; ++i) {
      g.a[i] = 1.0 + 1e-9 * static_cast<double>(i % 1000);
      if (g.b) g.b[i] = 2.0;
      if (g.c) g.c[i] = 0.5;
    }
  }
}

const char* bwop_name(BwOp op) {
  switch (op) {
    case BwOp::read: return "read";
    case BwOp::write: return "write";
    case BwOp::copy: return "copy";
    case BwOp::triad: return "triad";
    case BwOp::write_nt: return "write_nt";
    case BwOp::copy_nt: return "copy_nt";
    default: return "triad_nt";
  }
}

int bwop_arrays(BwOp op) {
  switch (op) {
    case BwOp::read:
    case BwOp::write:
    case BwOp::write_nt: return 1;
    case BwOp::copy:
    case BwOp::copy_nt: return 2;
    default: return 3;
  }
}

}  // namespace pb
