// Blocked, packed, OpenMP-parallel SGEMM in the BLIS/Goto structure, templated on an ISA traits type.
//
// This header is included by one translation unit per ISA (gemm_openmp_{avx512,avx2,generic}.cc), each compiled
// with its own -m flags; gemm_openmp.cc picks one at run time. Everything here has internal linkage and calls no
// C++ library templates, so no inline function compiled with AVX-512 can be picked by the linker for a caller on
// a CPU without it (the ODR trap of mixing ISA flags across translation units).
//
// Loop nest (T::MC, T::KC, T::NC chosen per ISA so that):
//   jc: NC columns of B           -> a KC x NC packed block of B stays in L3, shared by all threads
//   pc: KC deep                   -> a KC x NR micro-panel of B (16 KiB at KC=256, NR=16) stays in L1
//   ic: MC rows of A, per thread  -> a MC x KC packed block of A stays in that core's L2
//   jr, ir: NR x MR micro-tiles   -> MR x NR accumulators live in vector registers for the whole KC loop
// Threads split the ic blocks (and, when M has too few blocks for the threads, column ranges of the B block), or,
// where M < N, the columns: see gemm_columns.
#pragma once
#include <omp.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include <cstdlib>
#include <cstring>
#include <new>

#include "prunebench/gemm.h"

namespace {

using pb::index_t;

inline index_t imin(index_t a, index_t b) { return a < b ? a : b; }
inline index_t imax(index_t a, index_t b) { return a > b ? a : b; }
inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }
inline index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }

// Grow-only 64-byte aligned scratch, kept per thread so packing buffers keep their pages between calls.
struct Scratch {
  float* p = nullptr;
  std::size_t n = 0;
  ~Scratch() { std::free(p); }
  float* get(std::size_t need) {
    if (need > n) {
      std::free(p);
      p = static_cast<float*>(std::aligned_alloc(64, round_up(static_cast<index_t>(need * sizeof(float)), 64)));
      if (!p) throw std::bad_alloc();
      n = need;
    }
    return p;
  }
};

// A block (mc x kc) -> panels of MR rows, k-major inside a panel: Ap[panel][k][i]. Rows past mc are zero, so
// the micro-kernel never branches on the row edge while accumulating.
// Groups of 4 rows go 4 steps of k at a time through a 4 x 4 transpose of SSE registers (x86: every build's
// baseline): one load and one store per 4 floats, where one at a time took a load and a store each (0.5 ms of the 3
// ms of a 512 x 49 x 4608 product on Zen 4, where few column panels share each packed block).
template <class T>
void pack_a(index_t mc, index_t kc, const float* A, index_t lda, float* Ap) {
  constexpr int MR = T::MR;
  for (index_t i0 = 0; i0 < mc; i0 += MR) {
    const index_t mr = imin(MR, mc - i0);
    const float* rows[MR];
    for (int i = 0; i < MR; ++i) rows[i] = A + (i0 + imin(i, mr - 1)) * lda;  // edge rows: re-read, then zero
    index_t k = 0;
#if defined(__SSE__)
    constexpr int G = MR - MR % 4;  // rows in groups of 4
    if (G > 0 && mr == MR)
      for (; k + 4 <= kc; k += 4) {
#pragma GCC unroll 4
        for (int g = 0; g < G; g += 4) {
          __m128 r0 = _mm_loadu_ps(rows[g] + k), r1 = _mm_loadu_ps(rows[g + 1] + k);
          __m128 r2 = _mm_loadu_ps(rows[g + 2] + k), r3 = _mm_loadu_ps(rows[g + 3] + k);
          _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
          _mm_storeu_ps(Ap + k * MR + g, r0);
          _mm_storeu_ps(Ap + (k + 1) * MR + g, r1);
          _mm_storeu_ps(Ap + (k + 2) * MR + g, r2);
          _mm_storeu_ps(Ap + (k + 3) * MR + g, r3);
        }
#pragma GCC unroll 4
        for (int i = G; i < MR; ++i)
#pragma GCC unroll 4
          for (int j = 0; j < 4; ++j) Ap[(k + j) * MR + i] = rows[i][k + j];
      }
#endif
    // k outer, rows inner: MR sequential read streams, one contiguous write stream.
    for (; k < kc; ++k)
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) Ap[k * MR + i] = i < mr ? rows[i][k] : 0.0f;
    Ap += MR * kc;
  }
}

// One micro-panel of B (kc x nr, nr <= NR) -> Bp[k][j], columns past nr zero.
template <class T>
void pack_b_panel(index_t kc, index_t nr, const float* B, index_t ldb, float* Bp) {
  constexpr int NR = T::NR;
  for (index_t k = 0; k < kc; ++k) {
    const float* b = B + k * ldb;
    float* d = Bp + k * NR;
    index_t j = 0;
    for (; j < nr; ++j) d[j] = b[j];
    for (; j < NR; ++j) d[j] = 0.0f;
  }
}

// C[0:mr, 0:nr] (+)= Ap(MR x kc) * Bp(kc x NR). `first` stores (the first KC slice overwrites C, so C needs no
// zeroing pass); later slices add. Full tiles go straight to C; edge tiles go through a small stack buffer.
//
// kPackedA=false reads A in place (row-major, row stride lda) instead of from a packed panel: used when the B
// block is a single micro-panel wide (small N), where each A element is used once and packing would only double
// A's memory traffic. Rows past mr then re-read the last valid row; their results are discarded.
// MR x NV is the tile computed: T's full tile, or at an edge (tile_kernel) as few rows and vectors as hold the
// mr x nr that are real; the packed panels keep T's layout (MR rows, NR columns a step).
template <class T, bool kPackedA, int MR = T::MR, int NV = T::NV>
inline void micro_kernel(index_t kc, const float* __restrict Ap, index_t lda, const float* __restrict Bp, float* C,
                         index_t ldc, index_t mr, index_t nr, bool first) {
  constexpr int L = T::L, NR = NV * L;
  using V = typename T::V;
  // The C tile is touched only after the whole kc loop; start fetching it now so that the final load/store
  // does not stall on a miss (C is too large to stay in cache between KC slices).
  for (index_t i = 0; i < mr; ++i) {
    __builtin_prefetch(C + i * ldc, 1, 3);
    __builtin_prefetch(C + i * ldc + NR - 1, 1, 3);
  }
  V acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = T::zero();

  const float* arow[MR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) arow[i] = kPackedA ? Ap + i : Ap + imin(i, mr - 1) * lda;
  constexpr index_t a_step = kPackedA ? T::MR : 1;

#pragma GCC unroll 4
  for (index_t k = 0; k < kc; ++k) {
    V b[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) b[j] = T::load(Bp + j * L);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const V a = T::broadcast(arow[i] + k * a_step);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = T::fmadd(a, b[j], acc[i][j]);
    }
    Bp += T::NR;
  }

  if (mr == MR && nr == NR) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        float* c = C + i * ldc + j * L;
        T::storeu(c, first ? acc[i][j] : T::add(T::loadu(c), acc[i][j]));
      }
    return;
  }
  alignas(64) float tmp[MR * NR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) T::storeu(tmp + i * NR + j * L, acc[i][j]);
  for (index_t i = 0; i < mr; ++i)
    for (index_t j = 0; j < nr; ++j) C[i * ldc + j] = first ? tmp[i * NR + j] : C[i * ldc + j] + tmp[i * NR + j];
}

// Every tile goes through here: a full one to T's MR x NV instance, an edge tile (mr < MR or nr < NR) to the
// smallest instance that holds it, so that no FMA works on padding: vectors 1 .. NV, rows in thirds of MR where MR
// divides by 3 (12: 4, 8, 12; 6: 2, 4, 6), and up to kMaxColumns columns past the last whole vector by
// column_kernel. Full tiles everywhere wasted a vector of FMAs in two at N = 16 (AVX-512) and two thirds of the
// last tile at M = 64 (12 x 5 + 4).
template <class T>
constexpr int kEdgeRows = T::MR % 3 == 0 ? T::MR / 3 : T::MR;  // the row granularity of the edge tiles

// The last few columns of a packed tile (nr % L of them, at most kMaxColumns), computed the other way round: one
// vector holds the tile's MR rows of one column (a packed A panel is MR floats a step, k-major), so each FMA does
// MR useful multiply-adds, where a vector of columns did one per row. At N = 49 on AVX-512 (32 + 16 + 1) the one
// column had taken a quarter of the FMAs, at N = 196 (6 x 32 + 4) a thirteenth. U steps of k go to separate
// accumulators, so that U x R chains cover the FMA latency.
constexpr int kMaxColumns = 4;
template <class T, int R>
inline void column_kernel(index_t kc, const float* __restrict Ap, const float* __restrict Bp, float* C, index_t ldc,
                          index_t mr, bool first) {
  static_assert(T::MR <= T::L, "a vector holds a panel's rows");
  constexpr int MR = T::MR, U = (8 + R - 1) / R;
  using V = typename T::V;
  const typename T::Mask rows = T::first_mask(MR);
  V acc[U][R];
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 4
    for (int c = 0; c < R; ++c) acc[u][c] = T::zero();
  index_t k = 0;
  auto step = [&](int u, index_t kk) {
    const V a = T::loadu_mask(Ap + kk * MR, rows);
#pragma GCC unroll 4
    for (int c = 0; c < R; ++c) acc[u][c] = T::fmadd(a, T::broadcast(Bp + kk * T::NR + c), acc[u][c]);
  };
  for (; k + U <= kc; k += U)
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) step(u, k + u);
  for (int u = 0; k < kc; ++k, ++u) step(u, k);
#pragma GCC unroll 8
  for (int u = 1; u < U; ++u)
#pragma GCC unroll 4
    for (int c = 0; c < R; ++c) acc[0][c] = T::add(acc[0][c], acc[u][c]);
  alignas(64) float tmp[R][T::L];
#pragma GCC unroll 4
  for (int c = 0; c < R; ++c) T::storeu(tmp[c], acc[0][c]);
  for (index_t i = 0; i < mr; ++i)
    for (int c = 0; c < R; ++c) C[i * ldc + c] = first ? tmp[c][i] : C[i * ldc + c] + tmp[c][i];
}

template <class T, bool kPackedA>
inline void tile_kernel(index_t kc, const float* __restrict Ap, index_t lda, const float* __restrict Bp, float* C,
                        index_t ldc, index_t mr, index_t nr, bool first) {
  constexpr int MR = T::MR, NV = T::NV, L = T::L, R3 = kEdgeRows<T>;
  if constexpr (kPackedA && MR <= L) {
    const int r = static_cast<int>(nr % L);
    if (r > 0 && r <= kMaxColumns) {
      const index_t vec = nr - r;
      auto columns = [&]<int R>() { column_kernel<T, R>(kc, Ap, Bp + vec, C + vec, ldc, mr, first); };
      static_assert(kMaxColumns == 4, "one instance per column count below");
      if (r == 1) columns.template operator()<1>();
      else if (r == 2) columns.template operator()<2>();
      else if (r == 3) columns.template operator()<3>();
      else columns.template operator()<4>();
      if (vec == 0) return;
      nr = vec;
    }
  }
  const int nv = static_cast<int>(ceil_div(nr, L)), rows = static_cast<int>(ceil_div(mr, R3));
  auto cols = [&]<int MRt>() {
    if constexpr (NV >= 2)
      if (nv == 1) return micro_kernel<T, kPackedA, MRt, 1>(kc, Ap, lda, Bp, C, ldc, mr, nr, first);
    micro_kernel<T, kPackedA, MRt, NV>(kc, Ap, lda, Bp, C, ldc, mr, nr, first);
  };
  if constexpr (R3 < MR) {
    if (rows == 1) return cols.template operator()<R3>();
    if (rows == 2) return cols.template operator()<2 * R3>();
  }
  cols.template operator()<MR>();
}

// A packed block of A (mc x kc) times the packed micro-panels [p0, p1) of B (nc columns from C's column 0).
template <class T>
inline void block_tiles(index_t kc, index_t mc, index_t nc, index_t p0, index_t p1, const float* Ap, const float* Bp,
                        float* C, index_t ldc, bool first) {
  constexpr int MR = T::MR, NR = T::NR;
  for (index_t p = p0; p < p1; ++p) {
    const index_t jr = p * NR, nr = imin(NR, nc - jr);
    for (index_t ir = 0; ir < mc; ir += MR)
      tile_kernel<T, true>(kc, Ap + ir * kc, 0, Bp + jr * kc, C + ir * ldc + jr, ldc, imin(MR, mc - ir), nr, first);
  }
}

// Threads split the columns instead (each its own panels of B, packed by itself, and all of A) where rows are
// fewer than columns and every thread gets at least two micro-panels: a row split has every thread read the whole
// packed B, half of it packed by the other core (a line from another core's cache; 320 ns a round trip when the
// Zen 4 guest's host places the two vCPUs without a shared L3), and waits at a barrier per KC slice; a column split
// shares nothing, at the price of packing A once per thread (M x K, against K x N of B shared). On the Zen 4 guest
// with its vCPUs apart the row split took longer on two threads than on one at 64x512x256 (206 against 161 us).
// scripts/abab, 2 threads, 8-10 pairs, time against the row split: 0.75-0.77x at 64x512x256, 0.88x at 128x512x1152
// (native and PB_MAX_ISA=avx2), 0.83x at 64x3136x256, 0.90x at 128x784x1152, 0.95x at 256x512x2304 and 512x3136x576;
// the rows with M >= N unchanged.
template <class T>
void gemm_columns(const pb::GemmArgs& g) {
  constexpr int MR = T::MR, NR = T::NR;
  const index_t M = g.M, N = g.N, K = g.K;
  const int nt = g.threads;
  const index_t mc_max = imin(T::MC, round_up(M, kEdgeRows<T>));
#pragma omp parallel num_threads(nt)
  {
    static thread_local Scratch a_scratch, b_scratch;
    const index_t t = omp_get_thread_num();
    const index_t npanels = ceil_div(N, NR), p0 = npanels * t / nt, p1 = npanels * (t + 1) / nt;
    const index_t j0 = p0 * NR, j1 = imin(N, p1 * NR);
    const index_t nc_max = imin(T::NC, j1 - j0);
    float* Ap = a_scratch.get(static_cast<std::size_t>(round_up(mc_max, MR) * T::KC));
    float* Bp = b_scratch.get(static_cast<std::size_t>(T::KC * round_up(imax(nc_max, 1), NR)));
    for (index_t jc = j0; jc < j1; jc += T::NC) {
      const index_t nc = imin(T::NC, j1 - jc), np = ceil_div(nc, NR);
      for (index_t pc = 0; pc < K; pc += T::KC) {
        const index_t kc = imin(T::KC, K - pc);
        for (index_t p = 0; p < np; ++p)
          pack_b_panel<T>(kc, imin(NR, nc - p * NR), g.B + pc * g.ldb + jc + p * NR, g.ldb, Bp + p * NR * kc);
        for (index_t ic = 0; ic < M; ic += mc_max) {
          const index_t mc = imin(mc_max, M - ic);
          pack_a<T>(mc, kc, g.A + ic * g.lda + pc, g.lda, Ap);
          block_tiles<T>(kc, mc, nc, 0, np, Ap, Bp, g.C + ic * g.ldc + jc, g.ldc, pc == 0);
        }
      }
    }
  }
}

template <class T>
void gemm_blocked(const pb::GemmArgs& g) {
  constexpr int MR = T::MR, NR = T::NR;
  const index_t M = g.M, N = g.N, K = g.K;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (index_t i = 0; i < M; ++i) std::memset(g.C + i * g.ldc, 0, sizeof(float) * N);
    return;
  }
  const int nt = g.threads > 0 ? g.threads : 1;
  if (nt > 1 && M < N && ceil_div(N, NR) >= 2 * nt) return gemm_columns<T>(g);

  // Row blocks: as many as the L2 size asks for, rounded up to a multiple of the thread count so each thread
  // gets the same number, then made equal in size, in the edge tiles' rows (kEdgeRows: a block's last tile may be
  // an edge tile of a third or two of MR). In whole MR panels, M = 128 on two threads split 72 + 56 rows.
  index_t nblk = round_up(ceil_div(M, T::MC), nt);
  const index_t mc_eff = imin(T::MC, round_up(ceil_div(M, nblk), kEdgeRows<T>));
  nblk = ceil_div(M, mc_eff);
  const index_t nc_max = imin(T::NC, round_up(N, NR));
  // Too few row blocks for the threads (small M): also split the B block's micro-panels between threads.
  const index_t nsplit = nblk >= nt ? 1 : ceil_div(nt, nblk);

  static thread_local Scratch b_scratch;  // owned by the calling thread, shared inside the parallel region
  float* Bp = b_scratch.get(static_cast<std::size_t>(T::KC * nc_max));

#pragma omp parallel num_threads(nt)
  {
    static thread_local Scratch a_scratch;
    float* Ap = a_scratch.get(static_cast<std::size_t>(round_up(mc_eff, MR) * T::KC));  // whole MR panels
    for (index_t jc = 0; jc < N; jc += T::NC) {
      const index_t nc = imin(T::NC, N - jc);
      const index_t npanels = ceil_div(nc, NR);
      for (index_t pc = 0; pc < K; pc += T::KC) {
        const index_t kc = imin(T::KC, K - pc);
#pragma omp for schedule(static)
        for (index_t p = 0; p < npanels; ++p)
          pack_b_panel<T>(kc, imin(NR, nc - p * NR), g.B + pc * g.ldb + jc + p * NR, g.ldb, Bp + p * NR * kc);
        // (implicit barrier: B is packed before anyone reads it)
        const index_t panels_per_split = ceil_div(npanels, nsplit);
#pragma omp for schedule(static)
        for (index_t item = 0; item < nblk * nsplit; ++item) {
          const index_t ib = item / nsplit, js = item % nsplit;
          const index_t ic = ib * mc_eff, mc = imin(mc_eff, M - ic);
          const index_t p0 = js * panels_per_split, p1 = imin(npanels, p0 + panels_per_split);
          if (p0 >= p1) continue;
          const float* A = g.A + ic * g.lda + pc;
          if (npanels == 1) {  // small N: A used once, read it in place
            for (index_t ir = 0; ir < mc; ir += MR)
              tile_kernel<T, false>(kc, A + ir * g.lda, g.lda, Bp, g.C + (ic + ir) * g.ldc + jc, g.ldc,
                                    imin(MR, mc - ir), nc, pc == 0);
            continue;
          }
          pack_a<T>(mc, kc, A, g.lda, Ap);
          block_tiles<T>(kc, mc, nc, p0, p1, Ap, Bp, g.C + ic * g.ldc + jc, g.ldc, pc == 0);
        }
        // (implicit barrier: nobody still reads B when it is repacked)
      }
    }
  }
}

}  // namespace
