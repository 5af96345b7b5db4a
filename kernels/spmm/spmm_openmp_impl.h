// Our SpMM kernels (CSR, BSR, N:M), templated on the SIMD traits of kernels/simd/; included by one translation
// unit per ISA (internal linkage throughout, as in gemm_openmp_impl.h).
//
// Shape of the work: C rows are independent, so threads take row ranges of equal non-zero count
// (balance_rows). Inside a range, the columns of C go in tiles of NV vectors that stay in registers while a
// row's non-zeros stream by: per non-zero, one broadcast of the weight, NV loads of a B row segment, NV FMAs.
// Loads equal FMAs, so the kernel is bound by L1/L2 load bandwidth, not FMA throughput; NV = 8 gives 8
// independent accumulators, enough to hide FMA latency (4 cycles x 2 ports). Column tiles are the outer loop so
// a K x tile slice of B stays cache-resident across all rows of the range.
#pragma once
#include <omp.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <utility>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <vector>

#include "prunebench/cpu.h"
#include "prunebench/pick.h"
#include "prunebench/spmm.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace {

using pb::index_t;

// The non-zeros of one sparse row: value p and its column, for CSR and N:M.
struct CsrRow {
  const float* v;
  const std::int32_t* col;
  index_t n;
  index_t column(index_t p) const { return col[p]; }
};
// PG > 0: slots per group known at compile time, so p / PG is a shift (a run-time division per non-zero cost the
// 2:4 kernel a third of its speed); PG = 0: the run-time count.
template <int PG>
struct NmRow {
  const float* v;
  const std::uint8_t* idx;
  index_t n;
  int per_group, m;
  index_t column(index_t p) const { return (PG > 0 ? p / PG : p / per_group) * m + idx[p]; }
};

// B rows are gathered in an order no hardware prefetcher can guess (the column indices); fetching the row
// segment kPrefetch non-zeros ahead turns cache latency into throughput, where the slice of B a tile reads comes
// from past L2. Where it stays in L2 the prefetches only take load slots (one per line, as many as the loads): on
// the DLMC sample at N = 512 (AVX-512, 2 threads) leaving them out took 0.62-0.77x the time on the K = 512 layers
// (slices of 256-512 KB) and 0.71x at 576 KB, while slices of 768 KB-1 MB ran 1.06-1.16x slower without them.
// Hence prefetching from a slice of a third of L2 up (prefetch_pays).
constexpr index_t kPrefetch = 12;

// Vector v of a tile of NV vectors at p: where the tile is Masked, its last vector holds only the lanes of m (the
// columns past N's last whole vector) and is loaded and stored under the mask.
template <class T, int NV, bool Masked>
inline typename T::V tile_load(const float* p, int v, typename T::Mask m) {
  return Masked && v == NV - 1 ? T::loadu_mask(p, m) : T::loadu(p);
}
template <class T, int NV, bool Masked>
inline void tile_store(float* p, int v, typename T::V x, typename T::Mask m) {
  if (Masked && v == NV - 1)
    T::storeu_mask(p, x, m);
  else
    T::storeu(p, x);
}

// One row of a tile, src to dst, in vectors of a width known at compile time. std::memcpy of the tile's run-time
// width was a library call per row; against it, on the Zen 4 guest (DLMC at N = 512, 70/90/95%, scripts/abab, 6
// pairs), csr_l1 took 0.97x the time under PB_MAX_ISA=avx2 (AVX2 build; 0.96x where K >= 1152), csr_wide 0.98x and
// csr and csr_rt6 0.99x; in the native AVX-512 build 0.99-1.01x.
template <class T, int NV, bool Masked>
inline void copy_tile(float* dst, const float* src, typename T::Mask m) {
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v)
    tile_store<T, NV, Masked>(dst + v * T::L, v, tile_load<T, NV, Masked>(src + v * T::L, v, m), m);
}

// C[i, j0 : j0 + NV*L] = sum over the row's non-zeros of v * B[col, j0 : ...]. The narrower the tile (NV small,
// chosen so a K x tile slice of B fits in L2), the more accumulator sets U: consecutive non-zeros go to
// different sets, so there are always at least 8 independent FMA chains (NV*U = 8, or NV alone when wider).
// B points at row k0 of the tile's columns (in B itself, or in a packed slice of them), c at the tile's columns of
// C's row. Masked: the last vector is partial (tile_load), so no column needs a pass of its own.
template <class T, int NV, bool Prefetch, bool Masked, class Row>
inline void row_tile(const Row& r, index_t p0, index_t p1, bool first, const float* B, index_t ldb, index_t k0,
                     float* c, typename T::Mask m) {
  using V = typename T::V;
  constexpr int L = T::L, U = NV >= 8 ? 1 : 8 / NV;
  auto load = [&](const float* b, int v) { return tile_load<T, NV, Masked>(b, v, m); };
  V acc[U][NV];
#pragma GCC unroll 16
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[u][v] = T::zero();
  auto step = [&](index_t p, V (&a)[NV]) {
    if (Prefetch && p + kPrefetch < p1) {
      const float* pf = B + (r.column(p + kPrefetch) - k0) * ldb;
#pragma GCC unroll 16
      for (int v = 0; v < NV * L; v += 16) __builtin_prefetch(pf + v, 0, 3);
    }
    const V w = T::broadcast(r.v + p);
    const float* b = B + (r.column(p) - k0) * ldb;
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) a[v] = T::fmadd(w, load(b + v * L, v), a[v]);
  };
  index_t p = p0;
  for (; p + U <= p1; p += U)
#pragma GCC unroll 16
    for (int u = 0; u < U; ++u) step(p + u, acc[u]);
  // The remainder (< U non-zeros) still goes to separate sets, each under a compile-time index: a run-time index
  // into acc would force every accumulator out to the stack.
#pragma GCC unroll 8
  for (int u = 0; u < U - 1; ++u)
    if (p + u < p1) step(p + u, acc[u]);
#pragma GCC unroll 16
  for (int u = 1; u < U; ++u)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[0][v] = T::add(acc[0][v], acc[u][v]);
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) {
    tile_store<T, NV, Masked>(c + v * L, v, first ? acc[0][v] : T::add(load(c + v * L, v), acc[0][v]), m);
  }
}

// A matrix-vector product (N = 1): one dot product per row over its non-zeros. Per non-zero the scalar loop loads
// three things (weight, column, B's element) for one FMA, two of them into vector registers, which holds it near one
// non-zero per cycle; 8 independent chains, as one is FMA-latency bound. GCC would vectorise it across the non-zeros,
// assembling each B vector from single loads and inserts; `scalar_value` hides B's element from the vectoriser.
// Measured on Zen 4 (1000x2048 at 70-95%, one thread), the time of the vectorised forms against the scalar loop:
// `omp simd` 3.4x in the AVX-512 unit and 2.5x in the generic one, the same 8 chains vectorised 2.6x, AVX-512 and AVX2
// gathers 1.1-1.2x (gathers are microcoded, and slower still on Intel parts with the gather-data-sampling
// mitigation). Where the ISA has FMA and AVX2, CSR rows take dot_gathered instead (see there); the rest (N:M rows, the
// generic unit of a portable build) the scalar loop.
inline float scalar_value(float x) {
#if defined(__x86_64__) || defined(__i386__)
  asm("" : "+x"(x));  // no instruction: the value must sit in one register, which keeps the loop scalar
#endif
  return x;
}

#if defined(__AVX2__) && defined(__FMA__)
// B's elements of four non-zeros in one vector: a single load each, three of them inserted (vinsertps takes its
// element from memory: one load and one shuffle). The four column indices come in two 64-bit loads, split in
// integer registers. Stride: B's leading dimension, 1 where B is a plain vector (no multiply per index).
template <bool UnitStride>
inline __m128 gather4(const float* b, const std::int32_t* col, index_t ldb) {
  std::uint64_t lo, hi;
  std::memcpy(&lo, col, sizeof lo);
  std::memcpy(&hi, col + 2, sizeof hi);
  auto at = [&](std::uint64_t c) { return b + (UnitStride ? index_t(c) : index_t(c) * ldb); };
  __m128 r = _mm_load_ss(at(std::uint32_t(lo)));
  r = _mm_insert_ps(r, _mm_load_ss(at(lo >> 32)), 0x10);
  r = _mm_insert_ps(r, _mm_load_ss(at(std::uint32_t(hi))), 0x20);
  return _mm_insert_ps(r, _mm_load_ss(at(hi >> 32)), 0x30);
}
// The dot product of n weights with B's elements at their columns, 16 non-zeros per step: two 8-wide weight loads,
// sixteen B elements gathered as above (gather4), two FMAs. Per non-zero that is 1 + 1/8 loads into vector registers
// and half an integer load, where the scalar loop spends 2 and 1. Measured on Zen 4 (1000x2048 random at 70-95%, one
// thread, against the scalar loop): 0.64-0.67x the time; with one 32-bit load per index 0.78-0.80x, with 16-bit
// indices (a packed copy made at set-up) 0.67-0.74x (the shifts to unpack them cost more than the loads they save).
// DLMC final_dense at 2 threads (abab, 8 pairs): 0.65-0.85x the time, the least at 95%, in the AVX-512 and AVX2 units.
template <bool UnitStride>
inline float dot_gathered(const float* v, const std::int32_t* col, index_t n, const float* b, index_t ldb) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0;
  index_t p = 0;
  for (; p + 16 <= n; p += 16) {
    const __m128 g0 = gather4<UnitStride>(b, col + p, ldb), g1 = gather4<UnitStride>(b, col + p + 4, ldb);
    const __m128 g2 = gather4<UnitStride>(b, col + p + 8, ldb), g3 = gather4<UnitStride>(b, col + p + 12, ldb);
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + p), _mm256_set_m128(g1, g0), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(v + p + 8), _mm256_set_m128(g3, g2), a1);
  }
  const __m256 a8 = _mm256_add_ps(a0, a1);
  __m128 a = _mm_add_ps(_mm256_castps256_ps128(a8), _mm256_extractf128_ps(a8, 1));
  for (; p + 4 <= n; p += 4) a = _mm_fmadd_ps(_mm_loadu_ps(v + p), gather4<UnitStride>(b, col + p, ldb), a);
  a = _mm_add_ps(a, _mm_movehl_ps(a, a));
  float s = _mm_cvtss_f32(_mm_add_ss(a, _mm_movehdup_ps(a)));
  for (; p < n; ++p) s += v[p] * b[index_t(col[p]) * ldb];
  return s;
}
#endif

template <class Row>
inline void row_scalar(const Row& r, index_t p0, index_t p1, bool first, const float* B, index_t ldb, float* c,
                       index_t j0, index_t j1) {
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<Row, CsrRow>) {
    for (index_t j = j0; j < j1; ++j) {
      const float acc = ldb == 1 ? dot_gathered<true>(r.v + p0, r.col + p0, p1 - p0, B + j, ldb)
                                 : dot_gathered<false>(r.v + p0, r.col + p0, p1 - p0, B + j, ldb);
      c[j] = first ? acc : c[j] + acc;
    }
    return;
  }
#endif
  constexpr int U = 8;
  for (index_t j = j0; j < j1; ++j) {
    float a[U] = {};
    index_t p = p0;
    for (; p + U <= p1; p += U) {
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) a[u] += r.v[p + u] * scalar_value(B[r.column(p + u) * ldb + j]);
    }
    for (; p < p1; ++p) a[0] += r.v[p] * B[r.column(p) * ldb + j];  // a run-time index would put a[] on the stack
    const float acc = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    c[j] = first ? acc : c[j] + acc;
  }
}

// This core's L2 (256 KiB when sysfs does not say), read once.
inline index_t l2_bytes() {
  static const index_t l2 = [] {
    const auto b = pb::cpu::cache_bytes(2);
    return b > 0 ? b : index_t{256} << 10;
  }();
  return l2;
}

// K in panels of at most kb rows, all of equal size (one panel where K fits).
inline index_t equal_panels(index_t K, index_t kb) {
  if (K <= kb) return K;
  const index_t panels = (K + kb - 1) / kb;
  return (K + panels - 1) / panels;
}
// K is cut into panels of kb rows so that a kb x tile_floats slice of B (tile_floats: the widest column tile the
// call runs) fits in half of L2 and survives the sparse arrays streaming past it; each row then runs panel by panel
// (its column indices are sorted, so a panel is a contiguous run of its non-zeros) and C is accumulated across
// panels. One panel when K is small.
inline index_t panel_rows(index_t K, index_t tile_floats) {
  const index_t per_row = tile_floats * static_cast<index_t>(sizeof(float));
  return equal_panels(K, std::max<index_t>(64, l2_bytes() / 2 / per_row));
}

// Where C has several column tiles, a tile's slice of a K panel (kb rows of NV x L floats) lies in B at a stride
// of N floats, and the L2 can hold little of it: at N = 512 a row's 512 bytes of every 2 KB map to a quarter of
// the L2's sets (measured: 2:4 at 768x512x3072, 19 G multiply-adds/s against 43 at N = 128, where the slice is
// contiguous). So each thread first copies the slice into a contiguous buffer of its own, then multiplies from it.
// Own, not one copy shared by the threads (each copying part, a barrier, then all reading all of it): a shared copy
// crosses between cores on every panel, and on the Zen 4 guest, whenever the host placed the two vCPUs on cores
// without a shared L3, csr_rt6 and csr_wide at 768x512x3072 took 1.23-1.53x their time with the cores close (2:4 and
// 90%); with their own copies 0.97-1.06x, and with the cores close the same time as before (0.96-1.04x).
// Called inside the parallel region: each thread's own buffer.
inline float* own_slice(index_t floats) {
  static thread_local pb::AlignedBuffer<float> buf;
  buf.reserve_at_least(static_cast<std::size_t>(floats));
  return buf.data();
}
// The copy is not overlapped with the FMAs and reads the whole slice, where the unpacked kernel reads from L3 only
// the rows it uses, interleaved with its arithmetic. It pays where the strided slice would not fit (the panel at
// full width past half of L2) and each B row feeds enough non-zeros: at least kPackMinUses on average. Measured on
// the DLMC sample at N = 512 (AVX-512, 2 threads): 13 uses per row (128x1152 at 90%) ran 1.6x slower packed,
// 26 (256x2304 at 90%) 1.2-1.3x slower, 38 (128x1152 at 70%) 0.72-0.81x the time; 51 (512x4608 and 512x2048 at
// 90%) 0.84-0.94x and 0.55x, 100 and more (final_dense at 90%, the 70% layers past L2, 2:4 at 768x512x3072 with
// 384) 0.36-0.84x. The threshold sits between 26 and 51, on the safe side of 38.
constexpr index_t kPackMinUses = 40;
inline bool pack_pays(index_t nnz, index_t K, index_t N, index_t kb, index_t tile_floats) {
  const index_t l2 = l2_bytes();
  return N > tile_floats && std::min(K, kb) * N * index_t(sizeof(float)) > l2 / 2 && nnz >= kPackMinUses * K;
}

// rows x tile_floats floats of B (a K panel's slice for one column tile), rows ldb floats apart: past a third of
// L2, see kPrefetch; or always where a vector is narrower than a cache line (one prefetch per two or more loads: on
// the same sample under PB_MAX_ISA=avx2, leaving them out took 1.06x the time); or where B's rows do not start on
// cache lines (ldb not a multiple of 16 floats, as at N = 49), so each row segment spans one line more than it
// fills and every load is split across two (DLMC at N = 49, AVX-512: without them 1.06-1.07x the time).
template <class T>
inline bool prefetch_pays(index_t rows, index_t tile_floats, index_t ldb) {
  constexpr index_t line = 64 / sizeof(float);
  return T::L < line || ldb % line != 0 || rows * tile_floats * index_t(sizeof(float)) * 3 > l2_bytes();
}

// Copies B[k0 : k1, j0 : j0 + NV*L] (the last vector under m where Masked) into dst, k1 - k0 rows ld floats apart.
template <class T, int NV, bool Masked>
inline void pack_slice(const float* B, index_t ldb, index_t k0, index_t k1, index_t j0, float* dst, index_t ld,
                       typename T::Mask m) {
  for (index_t k = k0; k < k1; ++k) copy_tile<T, NV, Masked>(dst + (k - k0) * ld, B + k * ldb + j0, m);
}

// Calls f.template operator()<NV>() with NV = nv (1 <= nv <= Max): a run-time vector count as a compile-time one.
template <int Max, class F>
inline void with_vector_count(int nv, F&& f) {
  if constexpr (Max > 1)
    if (nv < Max) return with_vector_count<Max - 1>(nv, f);
  f.template operator()<Max>();
}

// Calls tile.operator()<NV, Masked>(j, lanes) once for the columns [j, N), 1 to Max vectors: NV = the vectors
// left, the last holding `lanes` columns, masked when that is less than L.
template <class T, int Max, class Tile>
inline void last_tile(index_t j, index_t N, Tile&& tile) {
  constexpr int L = T::L;
  const int nv = static_cast<int>((N - j + L - 1) / L), lanes = static_cast<int>(N - j - (nv - 1) * L);
  with_vector_count<Max>(nv, [&]<int NV>() {
    if (lanes == L)
      tile.template operator()<NV, false>(j, L);
    else
      tile.template operator()<NV, true>(j, lanes);
  });
}

// Calls tile.operator()<NV, Masked>(j0, lanes) over [0, N): tiles of MaxNV vectors, then 8 while more than 8
// remain, then one tile for the rest: NV = the vectors left (1 to 8), the last holding `lanes` columns (masked when
// that is less than L). One pass over the sparse rows for the remainder, where tiles of 4, 2, 1 vectors and a
// column-by-column tail made up to four (N = 49 on AVX-512: 2 + 1 vectors and 1 column, now one tile of 4).
template <class T, int MaxNV, class Tile>
inline void for_column_tiles(index_t N, Tile&& tile) {
  static_assert(MaxNV >= 8);
  constexpr int L = T::L;
  index_t j = 0;
  for (; j + MaxNV * L <= N; j += MaxNV * L) tile.template operator()<MaxNV, false>(j, L);
  for (; N - j > 8 * L; j += 8 * L) tile.template operator()<8, false>(j, L);
  if (j < N) last_tile<T, 8>(j, N, tile);
}
template <class T, int MaxNV, class MakeRow>
void rows_kernel(const pb::SpmmArgs& g, const std::vector<index_t>& bounds, index_t nnz, MakeRow&& make_row) {
  // N narrower than a MaxNV tile is one tile of N's whole vectors: its slice, not a MaxNV one, sets the panels and
  // whether to prefetch (DLMC at N = 49: 2 panels, no prefetch, where a 16-vector slice made 5 and prefetched).
  const index_t tile_floats = std::min<index_t>(MaxNV * T::L, (g.N + T::L - 1) / T::L * T::L);
  const index_t kb = panel_rows(g.W->K, tile_floats);
  const index_t panels = (g.W->K + kb - 1) / kb;
  const bool pack = pack_pays(nnz, g.W->K, g.N, kb, MaxNV * T::L);
  const bool prefetch = prefetch_pays<T>(std::min(g.W->K, kb), tile_floats, pack ? tile_floats : g.ldb);
#pragma omp parallel num_threads(g.threads)
  {
    float* const sbuf = pack ? own_slice(kb * MaxNV * T::L) : nullptr;
    const int t = omp_get_thread_num();
    const index_t r0 = bounds[t], r1 = bounds[t + 1];
    // split[(i - r0) * (panels + 1) + q]: first non-zero of row i in panel q.
    std::vector<index_t> split(static_cast<std::size_t>((r1 - r0) * (panels + 1)));
    for (index_t i = r0; i < r1; ++i) {
      const auto row = make_row(i);
      index_t* s = split.data() + (i - r0) * (panels + 1);
      index_t p = 0;
      for (index_t q = 0; q < panels; ++q) {
        while (p < row.n && row.column(p) < q * kb) ++p;
        s[q] = p;
      }
      s[panels] = row.n;
    }
    auto tile = [&]<int NV, bool Masked>(index_t j0, int lanes) {
      constexpr index_t w = NV * T::L;
      const typename T::Mask m = T::first_mask(lanes);
      for (index_t q = 0; q < panels; ++q) {
        const index_t k0 = q * kb, k1 = std::min(g.W->K, k0 + kb);
        const float* Bq = g.B + k0 * g.ldb + j0;
        index_t ldb = g.ldb;
        if (pack) {
          pack_slice<T, NV, Masked>(g.B, g.ldb, k0, k1, j0, sbuf, w, m);
          Bq = sbuf, ldb = w;
        }
        for (index_t i = r0; i < r1; ++i) {
          const index_t* s = split.data() + (i - r0) * (panels + 1);
          float* c = g.C + i * g.ldc + j0;
          if (prefetch)
            row_tile<T, NV, true, Masked>(make_row(i), s[q], s[q + 1], q == 0, Bq, ldb, k0, c, m);
          else
            row_tile<T, NV, false, Masked>(make_row(i), s[q], s[q + 1], q == 0, Bq, ldb, k0, c, m);
        }
      }
    };
    // A matrix-vector product (N = 1) goes row by row, one dot product each (row_scalar): a masked tile of one
    // lane took 1.1-1.35x the time of even its earlier, vectorised form on DLMC final_dense (AVX-512, 2 threads).
    if (g.N == 1)
      for (index_t i = r0; i < r1; ++i) {
        const auto row = make_row(i);
        row_scalar(row, 0, row.n, true, g.B, g.ldb, g.C + i * g.ldc, 0, 1);
      }
    else
      for_column_tiles<T, MaxNV>(g.N, tile);
  }
}

template <class T, int MaxNV = 8>
void spmm_csr(const pb::SpmmArgs& g) {
  const pb::Csr& A = g.W->csr;
  if (A.rows == 0 || g.N == 0) return;
  const auto bounds = pb::balance_rows(A.rowptr, g.threads);
  rows_kernel<T, MaxNV>(g, bounds, A.nnz(), [&](index_t i) {
    return CsrRow{A.values.data() + A.rowptr[i], A.colidx.data() + A.rowptr[i], A.rowptr[i + 1] - A.rowptr[i]};
  });
}

// BSR read from B in place (now only for N = 1; spmm_bsr_l1 below for the rest): a block row of BR rows shares each
// B row segment it loads: per block column c, NV loads feed BR*NV FMAs. Masked: the last vector is partial.
template <class T, int BR, int NV, bool Masked = false>
inline void block_row_tile(const pb::Bsr& A, index_t I, const float* B, index_t ldb, float* C, index_t ldc,
                           index_t j0, typename T::Mask m = T::first_mask(T::L)) {
  using V = typename T::V;
  constexpr int L = T::L;
  V acc[BR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < BR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = T::zero();
  const int bc = A.bc;
  for (std::int32_t p = A.rowptr[I]; p < A.rowptr[I + 1]; ++p) {
    const float* vals = A.values.data() + static_cast<index_t>(p) * BR * bc;
    const index_t col0 = static_cast<index_t>(A.colidx[p]) * bc;
    const index_t cmax = col0 + bc <= A.cols ? bc : A.cols - col0;  // edge block: padded columns have no B row
    for (index_t c = 0; c < cmax; ++c) {
      const float* b = B + (col0 + c) * ldb + j0;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        const V bv = tile_load<T, NV, Masked>(b + v * L, v, m);
#pragma GCC unroll 8
        for (int r = 0; r < BR; ++r) acc[r][v] = T::fmadd(T::broadcast(vals + r * bc + c), bv, acc[r][v]);
      }
    }
  }
  const index_t rows = A.rows - I * BR < BR ? A.rows - I * BR : BR;  // edge block row
#pragma GCC unroll 8
  for (int r = 0; r < BR; ++r) {
    if (r >= rows) break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) tile_store<T, NV, Masked>(C + (I * BR + r) * ldc + j0 + v * L, v, acc[r][v], m);
  }
}

template <class T, int BR>
void spmm_bsr_fixed(const pb::SpmmArgs& g) {
  const pb::Bsr& A = g.W->bsr;
  constexpr int NVB = 8 / BR > 0 ? 8 / BR : 1;  // 8 accumulators in all
  const auto bounds = pb::balance_rows(A.rowptr, g.threads);
#pragma omp parallel num_threads(g.threads)
  {
    const int t = omp_get_thread_num();
    const index_t I0 = bounds[t], I1 = bounds[t + 1];
    constexpr int L = T::L;
    index_t j = 0;
    for (; j + NVB * L <= g.N; j += NVB * L)
      for (index_t I = I0; I < I1; ++I) block_row_tile<T, BR, NVB>(A, I, g.B, g.ldb, g.C, g.ldc, j);
    // The rest: one tile of 1 to NVB vectors, the last masked where it holds fewer than L columns.
    if (j < g.N)
      last_tile<T, NVB>(j, g.N, [&]<int NV, bool Masked>(index_t j0, int lanes) {
        const typename T::Mask m = T::first_mask(lanes);
        for (index_t I = I0; I < I1; ++I) block_row_tile<T, BR, NV, Masked>(A, I, g.B, g.ldb, g.C, g.ldc, j0, m);
      });
  }
}

// Column tiles of 16 vectors where the ISA has 32 vector registers (AVX-512: 16 accumulators, a broadcast and a
// load in flight), 8 elsewhere. Per non-zero the broadcast and the column index are then loaded once per 16 FMAs
// instead of 8, and the sparse arrays stream past half as often; the B slice a tile keeps in cache doubles.
template <class T>
void spmm_csr_wide(const pb::SpmmArgs& g) {
  spmm_csr<T, sizeof(typename T::V) == 64 ? 16 : 8>(g);
}

// ---- csr_l1: the B slice a tile reads kept in L1, not L2. Above, a row's non-zeros each load NV vectors of B from a K
// x tile slice that stays in L2: one L2 line per FMA, which held csr_wide at 2.5-4.5 cycles per zmm FMA on the DLMC
// sample at 95% (AVX-512, N = 512; the same loop from L1 alone: 0.9). Here K goes in panels of kb rows whose slice (kb
// rows of a tile of NV vectors, see spmm_csr_l1) fills L1; each thread copies the panel's slice into its own
// contiguous buffer (the rows of B lie N floats apart and would fall into a fraction of L1's sets), then runs every
// row's non-zeros of that panel against it.
// What a row keeps between panels, its NV accumulator vectors, goes to a contiguous per-thread buffer in L2 (C's rows
// lie N floats apart too: written in place, 1.3x the time at 768x512x3072, 90%), copied to C after the last panel. The
// price is a C tile load and store per row and panel, worth it where each row holds enough non-zeros of a panel: the
// large-K layers (K >= 1152 on the DLMC sample on AVX-512, where small K (256) with one panel of csr_wide's slice in
// L2 is faster; on Zen 3, AVX2 with a 512 KiB L2, csr_l1 was the fastest of ours on 40 of the 42 layers).
// The non-zeros are reordered once per set of weights into panel-major order (all rows' entries of panel 0, then
// of panel 1, ...) with columns relative to the panel: taken straight from the CSR arrays, each row's panel starts
// a new page of them, which no prefetcher follows (2:4 at 768x512x3072: 1.8x the time or more).
struct L1Panels {
  index_t kb = 0, panels = 1;
  std::vector<index_t> at;        // at[q * (rows + 1) + i]: first entry of row i in panel q
  std::vector<std::int32_t> col;  // the entry's row of the panel's B slice (column - q * kb)
  std::vector<float> val;
};

inline std::shared_ptr<L1Panels> make_l1_panels(const pb::Csr& A, index_t kb) {
  auto t = std::make_shared<L1Panels>();
  t->kb = kb;
  t->panels = std::max<index_t>(1, (A.cols + kb - 1) / kb);
  t->at.resize(static_cast<std::size_t>(t->panels * (A.rows + 1)));
  t->col.resize(A.colidx.size());
  t->val.resize(A.values.size());
  std::vector<index_t> next(A.rowptr.begin(), A.rowptr.end() - 1);  // each row's first entry not yet placed
  index_t e = 0;
  for (index_t q = 0; q < t->panels; ++q) {
    const index_t k1 = std::min<index_t>(A.cols, (q + 1) * kb);
    index_t* at = t->at.data() + q * (A.rows + 1);
    for (index_t i = 0; i < A.rows; ++i) {
      at[i] = e;
      index_t p = next[i];
      for (; p < A.rowptr[i + 1] && A.colidx[p] < k1; ++p, ++e) {
        t->col[e] = static_cast<std::int32_t>(A.colidx[p] - q * kb);
        t->val[e] = A.values[p];
      }
      next[i] = p;
    }
    at[A.rows] = e;
  }
  return t;
}

// The fraction of the weights that are non-zeros (l1_panel_rows' density).
inline double csr_density(const pb::SparseWeights& W) {
  const pb::Csr& A = W.csr;
  return A.rows * W.K > 0 ? double(A.nnz()) / (double(A.rows) * double(W.K)) : 1;
}

// K panel rows: the slice (kb rows of NV x L floats) fills L1 (48 KiB: 192 rows at 4 zmm; half of L1, 96 rows, took
// 1.1-1.3x the time at 768x512x3072, 90-95%: twice the panels, so twice the C tiles loaded and stored); equal
// panels (equal_panels). One exception: where the average row holds at most kOnePanelNnz non-zeros in all of K and
// K's slice fits half of L2, K is one panel. C is then written once, in place, with no partial tiles to load, store
// and copy out; at 12-26 non-zeros per row those cost more than the B rows read from L2 instead of L1. Measured on
// Emerald Rapids (AVX-512, 48 KiB L1, 2 MiB L2, 2 threads), DLMC sample at N = 512, 12 interleaved rounds, time
// against L1 panels: 0.61-0.78x where M >= 512 (K = 256 and 512, 90-95%), 0.91-1.00x at M = 64. Growing panels past
// L1 by density without reaching one panel (at least 45 non-zeros per row and panel) lost where the partial tiles
// fit L1 (M = 128-512: 1.07-1.22x at 90-95%) and won only at M = 1000 (0.87-0.95x).
// Where a row holds fewer than kMinPanelNnz non-zeros of an L1 panel (95% and sparser at 128 rows), what each row
// pays per panel (its partial C tile loaded and stored, its loop's exit, its share of the slice copy) outweighs its
// FMAs: the panel doubles until its rows hold 8 or its slice reaches a quarter of L2, and is read from L2. Measured
// on the Zen 4 guest (32 KiB L1, 1 MiB L2, 2 threads), scripts/abab with 16-30 pairs a row, time against L1 panels:
// DLMC at N = 512, 95%: under PB_MAX_ISA=avx2 (AVX2 build) 0.90-0.94x where M >= 512 (K = 2048-4608) and 0.99-1.00x
// at M = 128-256, native AVX-512 0.93-0.97x and 0.98-0.99x; 768x512x3072 random at 95% 0.92x and 0.95x, at 98%
// 0.84x and 0.88x; the rn50 layers at their batch sizes 0.91-1.00x; no row slower. At 90% (12.8 non-zeros a panel)
// doubling took 1.00-1.06x the time in a one-thread model of the kernel, and with 16 as the bound the kernel took
// 1.03-1.08x on 8 of the 9 layers with K >= 1152 (DLMC at 90%, AVX2), hence 8. With Emerald Rapids' 48 KiB L1 (192
// rows) a row at 95% holds 9.6, so there the panels grow only at 98% and sparser, which no Intel run has measured.
// kOnePanelNnz held on the Zen 4 guest too (AVX2, same runs): 64 took 1.08-1.14x the time (K = 512 at 90%, K = 256 at
// 80%), 16 1.05-1.09x at K = 512, 95%, and the same time at K = 256, 90%.
constexpr double kOnePanelNnz = 32, kMinPanelNnz = 8;
inline index_t l1_panel_rows(index_t K, index_t tile_floats, double density = 1) {
  const auto l1 = pb::cpu::cache_bytes(1);
  const index_t per_row = tile_floats * static_cast<index_t>(sizeof(float));
  if (double(K) * density <= kOnePanelNnz && K * per_row <= l2_bytes() / 2) return std::max<index_t>(K, 1);
  index_t kb = std::max<index_t>(16, (l1 > 0 ? l1 : 32 << 10) / per_row);
  while (double(kb) * density < kMinPanelNnz && 2 * kb * per_row <= l2_bytes() / 4) kb *= 2;
  return std::max<index_t>(equal_panels(K, kb), 1);
}

// The panel loop that csr_l1 and nm share (see above): K in `panels` panels of kb rows; per panel, each thread copies
// its columns' slice of B (kb rows of NV vectors) into its own buffer and runs all its rows' non-zeros of the panel
// against it. panel(q): a function of i that gives row i's non-zeros in panel q, their columns counted from the
// panel's first row. split(parts): the first row of each of `parts` row ranges of equal work, then the end.
template <class T, int NV, class Panel, class Split>
void l1_panel_tiles(const pb::SpmmArgs& g, index_t rows, index_t kb, index_t panels, Panel&& panel, Split&& split) {
  const pb::SparseWeights& W = *g.W;
  constexpr int L = T::L;
  constexpr index_t w = NV * L;
  // Threads take columns where there are at least two tiles each (each thread then copies only its own columns of
  // B, and every row is balanced by construction), else rows of equal non-zero counts (N = 49). The columns are
  // split in whole vectors, not whole tiles: at N = 196 (3 tiles and 4 columns) whole tiles gave one thread 128
  // columns and the other 68.
  const index_t ntiles = (g.N + w - 1) / w, nvec = (g.N + L - 1) / L;
  const bool by_tiles = ntiles >= 2 * g.threads;
  const std::vector<index_t> bounds = split(by_tiles ? 1 : g.threads);
#pragma omp parallel num_threads(g.threads)
  {
    const int t = omp_get_thread_num();
    const index_t r0 = by_tiles ? 0 : bounds[t], r1 = by_tiles ? rows : bounds[t + 1];
    const index_t c0 = by_tiles ? std::min(g.N, nvec * t / g.threads * L) : 0;
    const index_t c1 = by_tiles ? std::min(g.N, nvec * (t + 1) / g.threads * L) : g.N;
    static thread_local pb::AlignedBuffer<float> slice, partial;
    slice.reserve_at_least(static_cast<std::size_t>(kb * w));
    const bool in_place = panels == 1;  // one panel: nothing to keep between panels, C is written once
    if (!in_place) partial.reserve_at_least(static_cast<std::size_t>((r1 - r0) * w));
    auto tile = [&]<int NVt, bool Masked>(index_t j0, int lanes) {
      const typename T::Mask m = T::first_mask(lanes);
      for (index_t q = 0; q < panels; ++q) {
        const index_t k0 = q * kb, k1 = std::min(W.K, k0 + kb);
        pack_slice<T, NVt, Masked>(g.B, g.ldb, k0, k1, j0, slice.data(), w, m);
        float* c = in_place ? g.C + r0 * g.ldc + j0 : partial.data();
        const index_t ldc = in_place ? g.ldc : w;
        const auto row = panel(q);
        for (index_t i = r0; i < r1; ++i, c += ldc) {
          const auto r = row(i);
          row_tile<T, NVt, false, Masked>(r, 0, r.n, q == 0, slice.data(), w, 0, c, m);
        }
      }
      if (!in_place)
        for (index_t i = r0; i < r1; ++i)
          copy_tile<T, NVt, Masked>(g.C + i * g.ldc + j0, partial.data() + (i - r0) * w, m);
    };
    index_t j = c0;
    for (; j + w <= c1; j += w) tile.template operator()<NV, false>(j, L);
    if (j < c1) last_tile<T, NV>(j, c1, tile);  // fewer vectors, the last masked where N is not a multiple of L
  }
}

template <class T, int NV>
void spmm_csr_l1_tiles(const pb::SpmmArgs& g) {
  const pb::SparseWeights& W = *g.W;
  const pb::Csr& A = W.csr;
  const index_t kb = l1_panel_rows(W.K, NV * T::L, csr_density(W));
  const std::string key = "l1/" + std::to_string(kb);
  // set-up: once per set of weights
  const L1Panels& P = *static_cast<const L1Panels*>(W.prepared.get(key, [&] { return make_l1_panels(A, kb); }));
  l1_panel_tiles<T, NV>(
      g, A.rows, kb, P.panels,
      [&](index_t q) {
        return [at = P.at.data() + q * (A.rows + 1), val = P.val.data(), col = P.col.data()](index_t i) {
          return CsrRow{val + at[i], col + at[i], at[i + 1] - at[i]};
        };
      },
      [&](int parts) { return pb::balance_rows(A.rowptr, parts); });
}

// Tile width. Per non-zero the loop loads its column index and broadcasts its weight once for NV FMAs, so wider tiles
// spend fewer loads per FMA, but for the same L1 they cut K into twice the panels (twice the C tile loads and stores
// per row). 4 zmm (64 floats, 256 bytes of B per row) on AVX-512. With 16 registers (AVX2, and the generic build),
// 8 vectors: on AVX2 the same 256 bytes, 8 accumulators (8 FMA chains, one set: U = 1). Measured on Zen 3 (AVX2, 32 KiB
// L1, 2 threads), the DLMC sample at N = 512 with 2:4 and 90% random 768x512x3072 beside it, against 4 ymm in two
// interleaved runs: 0.81-0.95x the time on every layer with K >= 512 (geomeans 0.87x and 0.93x; 2:4 0.81-0.87x), but
// 1.11-1.20x at K = 256 and 90-95%, where 4 ymm took K in one panel (C written once, in place) and 8 needed two.
// Hence 4 where it takes K in one panel and 8 would not (8 accumulators in row_tile's two sets). Since then
// l1_panel_rows gives K one panel where rows hold few non-zeros, at either width; there 8: on the Zen 4 guest under
// PB_MAX_ISA=avx2 (AVX2 build, DLMC at N = 512, scripts/abab, 20 pairs) 0.86-0.93x the time of 4 at 64x256 (90-95%),
// 1.00x at 1024x256.
// Under AVX2, 6 ymm in two sets (12 FMA chains where 8 cover the FMA latency) took 1.03x the time on the Zen 4 guest
// (scripts/abab, DLMC at N = 512, 70-95%, 8 pairs). Nor did fewer loads pay: four weights in one load, each spread
// across a vector by an in-register permute instead of a broadcast load per non-zero (9 loads per 8 ymm FMAs, then
// 8.25), took 0.95-1.06x (geomean 0.99) under AVX2 and 0.91-1.02x (0.97) native AVX-512 on those layers, and 1.085x
// on the default profile's csr_l1 rows in a second pair of builds: within what two builds' code layout moves. So
// neither FMA latency nor load ports bind the loop here. (Switching such loops by an environment variable inside
// one binary is no test: the switch slowed the old loop, and showed 0.85-0.97x.)
// AVX-512 keeps 4 zmm: 8 zmm took 0.99x the time on Emerald Rapids, DLMC at N = 512 (6 interleaved rounds; 0.96x
// where K >= 1024, 1.04x below). 8 ymm in the AVX-512 unit took 1.10x on the Zen 4 guest (its 70-95% layers, 10
// interleaved repetitions), and the AVX2 build's own csr_l1 1.05-1.23x (scripts/abab): Zen 4 splits a 512-bit op
// in two, yet its zmm tiles still win.
// What bounds it under AVX2, from a one-thread model of this kernel on the Zen 4 guest (512x4608 at 95%, N = 512,
// 8 ymm): 0.36-0.39 ns per ymm FMA, where the FMA peak is 0.146 and the gather loop alone over a 32 KiB slice 0.19.
// Without the slice copies 0.31. A copy between the rows took 1.2-2 us per 32 KiB slice, where copies run back to
// back take 0.55: B at K = 4608 (9.4 MB) lies past this guest's share of L3 (pointer chase: 15 ns at 4 MiB, 40 at 8,
// 119 at 16), and a copy that starts cold keeps few misses in flight. Prefetching the next slice into L2 during the
// rows (T1, one line per row) cut the copy to 0.5 us, but the rows took about as much longer (the model at K =
// 1152-4608, 90-95%: 0.95-1.08x the time). Also tried there, against this code (DLMC at N = 512, 24 layers, 2
// threads): 4 ymm in two sets (0.88x in the model without copies) 1.03x the time; all of a thread's column tiles per K
// panel (the panel's sparse arrays read once, not once per tile) 1.00x. Where rows hold few non-zeros of a panel,
// l1_panel_rows grows the panel past L1. Tried since (AVX2, scripts/abab, 8-12 pairs): each panel's rows run in the
// order of their count there, so the loop's exit repeats for the branch predictor: 1.10-1.30x with the entries left
// in row order, 1.00x with them laid out in the new order; where K is one panel, B read in place instead of copied
// (its slice is past L1 anyway): 1.09-2.0x at K = 256 and 512 but for 0.92x at 64x256, 95%; panels of 3/4 of L1
// (room for the partial C tiles that stream through it): 1.00-1.08x.
// Where the rest of the time goes at 90% (the model at 256x2304, 8 ymm, kb = 128, 12.8 non-zeros a row and panel):
// 0.27 ns per FMA in all; without the slice copies 0.24; without the partial C tiles' loads and stores as well 0.205
// (4 lines in and 4 out of L2 per row and panel); the loop alone 0.19. That loop is bound by its loads, not its FMAs:
// over one 256-byte B row it runs at the peak (0.145), walking the slice in order 0.162 (no index loads), gathering
// 0.18-0.19 (8 B loads, a weight and an index per 8 FMAs, at Zen 4's two 256-bit loads a cycle). Four weights per
// load with two indices per 8-byte load took that loop to 0.174-0.179 and the model layer to 0.92-1.02x at 90-95%
// over two runs (0.90x at 70-80%); the weights alone are what 234e935 measured in the kernel as within noise. The
// slice of all of K in L2 (no partial tiles, one copy) 1.3-1.7x; prefetching the next slice while copying this one
// 0.92-0.97x at K = 4608, no gain at K <= 2304.
template <class T>
void spmm_csr_l1(const pb::SpmmArgs& g) {
  const pb::SparseWeights& W = *g.W;
  if (W.csr.rows == 0 || g.N == 0) return;
  if (g.N == 1) return spmm_csr<T>(g);  // a matrix-vector product: row_scalar, no tiles
  constexpr int kWide = sizeof(typename T::V) == 64 ? 4 : 8;
  const double density = csr_density(W);
  const bool narrow_one_panel = l1_panel_rows(W.K, 4 * T::L, density) >= W.K;
  const bool wide_one_panel = l1_panel_rows(W.K, kWide * T::L, density) >= W.K;
  if (kWide == 4 || (narrow_one_panel && !wide_one_panel)) return spmm_csr_l1_tiles<T, 4>(g);
  return spmm_csr_l1_tiles<T, kWide>(g);
}

// ---- nm: N:M rows (n non-zeros in every group of m columns) through csr_l1's panels, a panel a whole number of
// groups. Per slot the loop reads a weight and a one-byte index (CSR: a four-byte column). N:M rows used to go through
// rows_kernel (the B slice in L2, as csr reads it); on Zen 3 (2 threads, scripts/abab, 16 pairs) the panels took
// 0.54-0.63x its time at 2:4 (3072x128x768, 768x128x3072, 768x512x3072). As for csr_l1, the slots are laid out once
// per set of weights in panel-major order (all rows' slots of panel 0, then of panel 1, ...): read in place, a row's
// slots of one panel lie a whole row of the N:M arrays from the next row's, and the panel-major copy took 0.87-0.92x
// the time of reading them there. Same runs: about csr_l1's time (0.94-1.10x); the index arithmetic (slot / n * m +
// index) costs what the smaller index saves.
struct NmPanels {
  index_t gpp = 0, panels = 1;  // groups per panel
  std::vector<float> val;
  std::vector<std::uint8_t> idx;
};

inline std::shared_ptr<NmPanels> make_nm_panels(const pb::NmMatrix& A, index_t gpp) {
  auto t = std::make_shared<NmPanels>();
  t->gpp = gpp;
  t->panels = std::max<index_t>(1, (A.groups + gpp - 1) / gpp);
  t->val.resize(A.values.size());
  t->idx.resize(A.index.size());
  const index_t per_row = A.groups * A.n;
  index_t e = 0;
  for (index_t q = 0; q < t->panels; ++q) {
    const index_t first = q * gpp * A.n, n = std::min(gpp, A.groups - q * gpp) * A.n;
    for (index_t i = 0; i < A.rows; ++i, e += n) {
      std::copy_n(A.values.data() + i * per_row + first, n, t->val.data() + e);
      std::copy_n(A.index.data() + i * per_row + first, n, t->idx.data() + e);
    }
  }
  return t;
}

template <class T, int NV, int PG>
void spmm_nm_l1_tiles(const pb::SpmmArgs& g) {
  const pb::NmMatrix& A = g.W->nm;
  const index_t kb = std::max<index_t>(A.m, l1_panel_rows(g.W->K, NV * T::L, double(A.n) / A.m) / A.m * A.m);
  const std::string key = "nm_l1/" + std::to_string(kb);
  // set-up: once per set of weights
  const NmPanels& P =
      *static_cast<const NmPanels*>(g.W->prepared.get(key, [&] { return make_nm_panels(A, kb / A.m); }));
  l1_panel_tiles<T, NV>(
      g, A.rows, kb, P.panels,
      [&](index_t q) {
        const index_t at = q * P.gpp * A.n * A.rows, n = std::min(P.gpp, A.groups - q * P.gpp) * A.n;
        return [v = P.val.data() + at, idx = P.idx.data() + at, n, pg = A.n, m = A.m](index_t i) {
          return NmRow<PG>{v + i * n, idx + i * n, n, pg, m};
        };
      },
      [&](int parts) {  // every row holds the same number of slots: an even split is balanced
        std::vector<index_t> b(parts + 1);
        for (int t = 0; t <= parts; ++t) b[t] = A.rows * t / parts;
        return b;
      });
}

template <class T>
void spmm_nm(const pb::SpmmArgs& g) {
  const pb::NmMatrix& A = g.W->nm;
  if (A.rows == 0 || g.N == 0) return;
  const index_t per_row = A.groups * A.n;
  constexpr int kWide = sizeof(typename T::V) == 64 ? 4 : 8;  // csr_l1's widths, chosen as there
  const double density = double(A.n) / A.m;
  const bool narrow = kWide == 4 || (l1_panel_rows(g.W->K, 4 * T::L, density) >= g.W->K &&
                                     l1_panel_rows(g.W->K, kWide * T::L, density) < g.W->K);
  auto run = [&]<int PG>() {
    if (g.N == 1) {  // a matrix-vector product: one dot product per row (row_scalar), no tiles
      std::vector<index_t> bounds(g.threads + 1);
      for (int t = 0; t <= g.threads; ++t) bounds[t] = A.rows * t / g.threads;
      return rows_kernel<T, 8>(g, bounds, A.rows * per_row, [&](index_t i) {
        return NmRow<PG>{A.values.data() + i * per_row, A.index.data() + i * per_row, per_row, A.n, A.m};
      });
    }
    if (narrow) return spmm_nm_l1_tiles<T, 4, PG>(g);
    return spmm_nm_l1_tiles<T, kWide, PG>(g);
  };
  switch (A.n) {  // 1:4, 2:4 and 4:8 are the patterns in use
    case 1: return run.template operator()<1>();
    case 2: return run.template operator()<2>();
    case 4: return run.template operator()<4>();
    default: return run.template operator()<0>();
  }
}

// ---- bsr through L1 panels, as csr_l1 (see there): K in panels of kb rows, a whole number of block columns; each
// thread copies its columns' slice of B into its own buffer, then runs every block row's blocks of the panel against
// it. A register tile of RT rows of a block row (RT = BR up to 4) keeps RT x NV accumulators (8 in all); per column
// of a block, NV loads of B and RT broadcasts feed RT x NV FMAs (block4x4: 6 loads per 8 FMAs, CSR 10). 8-row blocks
// run as two halves of 4 rows: each B vector is loaded twice, but a whole-height tile (one vector, 8 broadcasts per
// 8 FMAs) did worse. The blocks are laid out once per set of weights in panel-major order. Read from B in place
// (spmm_bsr_fixed above, the B slice in L2), block1x4 and block4x4 ran slower than csr_l1 on the same weights at
// 3072x128x768; on Zen 3 (2 threads, scripts/abab, 12 pairs, 50-95%) the panels took 0.56-0.87x its time, keeping B
// in registers (below) 0.73-0.83x more at BR = 4, and blocks 4 columns wide unrolled (BC = 4) 0.83-0.90x more: then
// 0.85-0.95x csr_l1's time at block4x4 and 0.93-0.96x at block1x4. Blocks 1 and 8 columns wide unrolled too, and
// the halves (Zen 3, scripts/abab, 10 pairs, 3072x128x768 at 50 and 90%, 1 and 2 threads): block4x1 0.67-0.69x the
// time, block8x8 0.72-0.77x (unrolled alone 0.88x, the halves 0.79-0.86x more); before, both took 1.16-1.82x
// csr_l1's time on their weights. Other widths (2x3: 0.95-1.02x csr_l1's) run their column loop to the block's width.
struct BsrPanels {
  index_t kb = 0, panels = 1;
  std::vector<index_t> at;        // at[q * (block rows + 1) + I]: first block of block row I in panel q
  std::vector<std::int32_t> col;  // the block's first column, counted from the panel's first row of B
  std::vector<float> val;         // br x bc each, as in pb::Bsr
};

inline std::shared_ptr<BsrPanels> make_bsr_panels(const pb::Bsr& A, index_t kb) {
  auto t = std::make_shared<BsrPanels>();
  const index_t nbr = static_cast<index_t>(A.rowptr.size()) - 1, bsize = index_t{A.br} * A.bc;
  t->kb = kb;
  t->panels = std::max<index_t>(1, (A.cols + kb - 1) / kb);
  t->at.resize(static_cast<std::size_t>(t->panels * (nbr + 1)));
  t->col.resize(A.colidx.size());
  t->val.resize(A.values.size());
  std::vector<index_t> next(A.rowptr.begin(), A.rowptr.end() - 1);  // each block row's first block not yet placed
  index_t e = 0;
  for (index_t q = 0; q < t->panels; ++q) {
    index_t* at = t->at.data() + q * (nbr + 1);
    for (index_t I = 0; I < nbr; ++I) {
      at[I] = e;
      index_t p = next[I];
      for (; p < A.rowptr[I + 1] && index_t{A.colidx[p]} * A.bc < (q + 1) * kb; ++p, ++e) {
        t->col[e] = static_cast<std::int32_t>(index_t{A.colidx[p]} * A.bc - q * kb);
        std::copy_n(A.values.data() + p * bsize, bsize, t->val.data() + e * bsize);
      }
      next[I] = p;
    }
    at[nbr] = e;
  }
  return t;
}

// Rows r0 .. r0 + RT of one block row's blocks p0..p1 of a panel (block rows BR high) against its slice s (rows w
// floats apart) into c (the block row's first row; rows ldc apart; first: written, else added to); only the first
// `rows` rows of the block row exist (the last block row).
template <class T, int BR, int RT, int NV, bool Masked, int BC>
inline void block_row_panel(const BsrPanels& P, int bc_run, index_t p0, index_t p1, const float* s, index_t w, float* c,
                            index_t ldc, bool first, int r0, index_t rows, typename T::Mask m) {
  using V = typename T::V;
  constexpr int L = T::L;
  const int bc = BC > 0 ? BC : bc_run;
  V acc[RT][NV];
#pragma GCC unroll 8
  for (int r = 0; r < RT; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = T::zero();
  for (index_t p = p0; p < p1; ++p) {
    const float* vals = P.val.data() + p * BR * bc + r0 * bc;
    const float* b = s + index_t{P.col[p]} * w;
#pragma GCC unroll 8
    for (int j = 0; j < bc; ++j, b += w)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        V bv = tile_load<T, NV, Masked>(b + v * L, v, m);
        // No instruction: bv must sit in a register. Left alone, GCC folds the load into each of the RT FMAs (RT
        // loads of the same vector): block4x4 at 3072x128x768 took 1.27-1.36x the time (Zen 3, 2 threads,
        // scripts/abab, 12 pairs, 50-90%). At RT = 1 the folded load is the better code (one instruction).
        if constexpr (RT > 1) T::keep_in_register(bv);
#pragma GCC unroll 8
        for (int r = 0; r < RT; ++r) acc[r][v] = T::fmadd(T::broadcast(vals + r * bc + j), bv, acc[r][v]);
      }
  }
#pragma GCC unroll 8
  for (int r = 0; r < RT; ++r) {
    if (r0 + r >= rows) break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      float* o = c + (r0 + r) * ldc + v * L;
      tile_store<T, NV, Masked>(o, v, first ? acc[r][v] : T::add(tile_load<T, NV, Masked>(o, v, m), acc[r][v]), m);
    }
  }
}

// The slice is 8 vectors wide, as csr_l1's under AVX2 (on AVX-512 twice csr_l1's 4, not measured there), in register
// tiles of NV = 8 / BR vectors. A slice as narrow as the register tile (2 vectors at BR = 4) reads a block row's
// blocks four times as often; against it, before the two changes in block_row_panel, the wide slice took 0.98-1.04x
// the time at block4x4 at 50, 70 and 95% and 1.08x at 90% (Zen 3, 2 threads, 12 pairs): no gain; not measured since.
template <class T, int BR, int BC>
void spmm_bsr_l1(const pb::SpmmArgs& g) {
  const pb::SparseWeights& W = *g.W;
  const pb::Bsr& A = W.bsr;
  constexpr int RT = BR < 4 ? BR : 4;                  // rows of a register tile: 8-row blocks go in two halves
  constexpr int L = T::L, SV = 8, NV = 8 / RT;         // 8 accumulators in all
  constexpr index_t w = SV * L;
  const index_t nbr = static_cast<index_t>(A.rowptr.size()) - 1;
  const double density = A.rows * W.K > 0 ? double(A.values.size()) / (double(A.rows) * double(W.K)) : 1;
  const index_t kb = std::max<index_t>(A.bc, l1_panel_rows(W.K, w, density) / A.bc * A.bc);
  const BsrPanels& P = *static_cast<const BsrPanels*>(
      W.prepared.get("bsr_l1/" + std::to_string(kb), [&] { return make_bsr_panels(A, kb); }));  // set-up
  // Threads take columns where there are at least two slices each, else block rows of equal block counts.
  const index_t ntiles = (g.N + w - 1) / w, nvec = (g.N + L - 1) / L;
  const bool by_tiles = ntiles >= 2 * g.threads;
  const auto bounds = pb::balance_rows(A.rowptr, by_tiles ? 1 : g.threads);
#pragma omp parallel num_threads(g.threads)
  {
    const int t = omp_get_thread_num();
    const index_t I0 = by_tiles ? 0 : bounds[t], I1 = by_tiles ? nbr : bounds[t + 1];
    const index_t r0 = std::min(A.rows, I0 * BR), r1 = std::min(A.rows, I1 * BR);
    const index_t c0 = by_tiles ? std::min(g.N, nvec * t / g.threads * L) : 0;
    const index_t c1 = by_tiles ? std::min(g.N, nvec * (t + 1) / g.threads * L) : g.N;
    static thread_local pb::AlignedBuffer<float> slice, partial;
    slice.reserve_at_least(static_cast<std::size_t>(kb * w));
    const bool in_place = P.panels == 1;  // one panel: nothing to keep between panels, C is written once
    if (!in_place) partial.reserve_at_least(static_cast<std::size_t>((r1 - r0) * w));
    // A slice of NVs vectors (the last masked where Masked) in register tiles of NV vectors, the last one narrower.
    auto tile = [&]<int NVs, bool Masked>(index_t j0, int lanes) {
      const typename T::Mask m = T::first_mask(lanes);
      for (index_t q = 0; q < P.panels; ++q) {
        const index_t k0 = q * kb, k1 = std::min(W.K, k0 + kb);
        pack_slice<T, NVs, Masked>(g.B, g.ldb, k0, k1, j0, slice.data(), w, m);
        // An edge block's columns past K hold zero weights; their rows of the slice must hold numbers, not whatever
        // the buffer held (0 x NaN is NaN).
        const index_t pad = std::min(kb, (k1 - k0 + A.bc - 1) / A.bc * A.bc);
        std::fill(slice.data() + (k1 - k0) * w, slice.data() + pad * w, 0.0f);
        const index_t* at = P.at.data() + q * (nbr + 1);
        float* c = in_place ? g.C + r0 * g.ldc + j0 : partial.data();
        const index_t ldc = in_place ? g.ldc : w;
        for (index_t I = I0; I < I1; ++I, c += BR * ldc) {
          auto reg_tiles = [&]<int V0>(auto& self) {
            constexpr int n = NVs - V0 < NV ? NVs - V0 : NV;
            if constexpr (n > 0) {
              for (int r0 = 0; r0 < BR; r0 += RT)
                block_row_panel<T, BR, RT, n, Masked && V0 + n == NVs, BC>(P, A.bc, at[I], at[I + 1],
                                                                           slice.data() + V0 * L, w, c + V0 * L, ldc,
                                                                           q == 0, r0, A.rows - I * BR, m);
              self.template operator()<V0 + n>(self);
            }
          };
          reg_tiles.template operator()<0>(reg_tiles);
        }
      }
      if (!in_place)
        for (index_t i = r0; i < r1; ++i)
          copy_tile<T, NVs, Masked>(g.C + i * g.ldc + j0, partial.data() + (i - r0) * w, m);
    };
    index_t j = c0;
    for (; j + w <= c1; j += w) tile.template operator()<SV, false>(j, L);
    if (j < c1) last_tile<T, SV>(j, c1, tile);  // fewer vectors, the last masked where N is not a multiple of L
  }
}

// Block heights 1, 2, 4, 8 have register-blocked paths; configs refuse others (see bsr_block_supported). A
// matrix-vector product (N = 1) keeps the in-place kernel (the panels are not measured there). Blocks 1, 4 and 8
// columns wide have their column loop unrolled; other widths run it to the block's width.
template <class T>
void spmm_bsr(const pb::SpmmArgs& g) {
  const pb::Bsr& A = g.W->bsr;
  if (A.rows == 0 || g.N == 0) return;
  auto run = [&]<int BR>() {
    if (g.N == 1) return spmm_bsr_fixed<T, BR>(g);
    switch (A.bc) {
      case 1: return spmm_bsr_l1<T, BR, 1>(g);
      case 4: return spmm_bsr_l1<T, BR, 4>(g);
      case 8: return spmm_bsr_l1<T, BR, 8>(g);
      default: return spmm_bsr_l1<T, BR, 0>(g);
    }
  };
  switch (A.br) {
    case 1: return run.template operator()<1>();
    case 2: return run.template operator()<2>();
    case 4: return run.template operator()<4>();
    case 8: return run.template operator()<8>();
    default: return;  // refused earlier: bsr_block_supported()
  }
}

// ---- csr_rt4 / csr_rt6: register tiles of R rows that share each B load (in the spirit of Sparse Register
// Tiling, Wilkinson et al., PLDI 2023, without code generation). Set-up, once per set of weights: rows go in panels
// of R; a panel's non-zeros are regrouped by column, and each column by which of the R rows hold it (an R-bit
// mask). The columns of one mask form a run, and each run is multiplied by a loop compiled for that mask: per
// column, NV B vectors are loaded once and feed an FMA for every row in the mask, into accumulators named at
// compile time. On DLMC at 90% a 4-row panel holds 1.22 non-zeros per distinct column (1.64 at 70%), so B is read
// that much less. Six rows raise that (2:4: 3.05 against 2.13 non-zeros per column; DLMC at 70%: 2.04-2.47
// against 1.59-1.87) for 4x as many masks, so shorter runs (each ends in a mispredicted branch) and more code.
// Where the reuse is too small to pay (row_tile_min_reuse), the set-up picks the CSR kernel instead.
template <int R>
struct RowTiles {
  static constexpr int kMasks = 1 << R;
  index_t kb = 0, kpanels = 1;       // K in panels of kb rows (as rows_kernel does): the B slice stays in L2
  std::vector<index_t> run;          // run[(p * kpanels + q) * kMasks + m]: first entry of panel p, K panel q, mask m
  std::vector<std::int32_t> col;     // column of each entry
  std::vector<index_t> val_at;       // first weight of each run (weights of an entry: one per row in its mask)
  std::vector<float> val;
  std::vector<std::int32_t> work;    // non-zeros before each panel: for balancing
  index_t panels = 0;
  double reuse = 1;                  // non-zeros per distinct (panel, column): how many FMAs each B load feeds
};

// Below this reuse the row tiles lose to wide CSR tiles (measured with 4 rows on the DLMC sample, AVX-512,
// N = 512: at 70% sparsity, reuse ~1.6, tiles 1.21x csr_wide; at 80%, ~1.4, 1.09x; at 90%, 1.22, 0.95x; at 95%,
// 0.90x): their 4-vector column tiles pass over the sparse arrays 4x as often and give a lone row only 4 FMA
// chains. Six rows clear it at 90% on most layers, where they took 0.80-0.92x csr_wide's time. Where a tile is two
// vectors (16 registers: AVX2), a lone row's entry has only 2 FMA chains: under PB_MAX_ISA=avx2 six rows at 90%
// (reuse 1.28-1.49) took 1.2-1.34x csr_wide's time, at 70-80% (1.63-2.31) 0.75-1.1x csr_rt4's; hence 1.5 there.
template <class T, int R>
constexpr double row_tile_min_reuse() {
  return sizeof(typename T::V) < 64 && R > 4 ? 1.5 : 1.3;
}

template <int R>
std::shared_ptr<RowTiles<R>> make_row_tiles(const pb::Csr& A, index_t kb) {
  constexpr int kMasks = RowTiles<R>::kMasks;
  auto t = std::make_shared<RowTiles<R>>();
  t->panels = (A.rows + R - 1) / R;
  t->kb = std::max<index_t>(kb, 1);
  t->kpanels = std::max<index_t>(1, (A.cols + t->kb - 1) / t->kb);
  const index_t slots = t->panels * t->kpanels;
  t->run.assign(static_cast<std::size_t>(slots * kMasks + 1), 0);
  t->val_at.assign(static_cast<std::size_t>(slots * kMasks + 1), 0);
  t->work.assign(static_cast<std::size_t>(t->panels + 1), 0);
  t->col.reserve(A.colidx.size());
  t->val.reserve(A.values.size());
  std::vector<std::int32_t> cols;  // the panel's distinct columns, ascending
  std::vector<int> masks;          // which rows hold each
  std::vector<float> w;            // their weights, R per column
  for (index_t p = 0; p < t->panels; ++p) {
    // Merge the panel's (sorted) rows: repeatedly take the smallest column at the heads of the R rows.
    std::int32_t at[R], end[R];
    for (int r = 0; r < R; ++r) {
      const index_t i = std::min<index_t>(p * R + r, A.rows);
      at[r] = A.rowptr[i];
      end[r] = p * R + r < A.rows ? A.rowptr[i + 1] : at[r];
    }
    cols.clear(), masks.clear(), w.clear();
    for (;;) {
      std::int32_t c = INT32_MAX;
      for (int r = 0; r < R; ++r)
        if (at[r] < end[r]) c = std::min(c, A.colidx[at[r]]);
      if (c == INT32_MAX) break;
      int mask = 0;
      float ws[R] = {};
      for (int r = 0; r < R; ++r)
        if (at[r] < end[r] && A.colidx[at[r]] == c) mask |= 1 << r, ws[r] = A.values[at[r]++];
      cols.push_back(c), masks.push_back(mask), w.insert(w.end(), ws, ws + R);
    }
    t->work[p + 1] = A.rowptr[std::min<index_t>((p + 1) * R, A.rows)];
    // Columns ascending: each K panel is a contiguous stretch of them.
    std::size_t k0 = 0;
    for (index_t q = 0; q < t->kpanels; ++q) {
      std::size_t k1 = k0;
      while (k1 < cols.size() && cols[k1] < (q + 1) * t->kb) ++k1;
      // Counting sort by mask (one pass to count, one to place; columns stay ascending inside a run).
      const index_t slot = (p * t->kpanels + q) * kMasks;
      index_t count[kMasks] = {};
      for (std::size_t k = k0; k < k1; ++k) ++count[masks[k]];
      index_t at_col[kMasks], at_val[kMasks];
      index_t c0 = static_cast<index_t>(t->col.size()), v0 = static_cast<index_t>(t->val.size());
      for (int m = 1; m < kMasks; ++m) {
        t->run[slot + m] = at_col[m] = c0;
        t->val_at[slot + m] = at_val[m] = v0;
        c0 += count[m];
        v0 += count[m] * __builtin_popcount(static_cast<unsigned>(m));
      }
      t->run[slot + kMasks] = c0;  // == the next slot's [0], which is unused
      t->val_at[slot + kMasks] = v0;
      t->col.resize(static_cast<std::size_t>(c0));
      t->val.resize(static_cast<std::size_t>(v0));
      for (std::size_t k = k0; k < k1; ++k) {
        const int m = masks[k];
        t->col[static_cast<std::size_t>(at_col[m]++)] = cols[k];
        for (int r = 0; r < R; ++r)
          if (m >> r & 1) t->val[static_cast<std::size_t>(at_val[m]++)] = w[k * R + r];
      }
      k0 = k1;
    }
  }
  t->reuse = t->col.empty() ? 1.0 : static_cast<double>(A.values.size()) / static_cast<double>(t->col.size());
  return t;
}

// One run of columns sharing mask M: acc[r] += w_r * B[col, tile columns] for every row r in M (B points at row
// k0 of the tile's columns, as in row_tile). Always inlined: a call takes the accumulators by reference, so an
// out-of-line run keeps them in memory (GCC stops inlining partway through the 63 runs of a 6-row tile).
template <class T, int NV, bool Prefetch, bool Masked, int R, int M>
[[gnu::always_inline]] inline void mask_run(const std::int32_t* col, const float* val, index_t n, const float* B,
                                            index_t ldb, index_t k0, typename T::Mask m, typename T::V (&acc)[R][NV]) {
  using V = typename T::V;
  constexpr int L = T::L, PC = __builtin_popcount(M);
  for (index_t e = 0; e < n; ++e) {
    if (Prefetch && e + kPrefetch < n) {
      const float* pf = B + (col[e + kPrefetch] - k0) * ldb;
#pragma GCC unroll 8
      for (int v = 0; v < NV * L; v += 16) __builtin_prefetch(pf + v, 0, 3);
    }
    const float* b = B + (col[e] - k0) * ldb;
    V bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = tile_load<T, NV, Masked>(b + v * L, v, m);
    const float* w = val + e * PC;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      if ((M >> r & 1) == 0) continue;
      const V wr = T::broadcast(w + __builtin_popcount(M & ((1 << r) - 1)));
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = T::fmadd(wr, bv[v], acc[r][v]);
    }
  }
}

// Masked: the last of the NV vectors is partial (tile_load).
template <class T, int NV, bool Prefetch, bool Masked, int R, int... Ms>
inline void panel_tile(const RowTiles<R>& t, index_t p, index_t q, const float* B, index_t ldb, index_t k0,
                       float* C, index_t ldc, index_t rows, typename T::Mask m, std::integer_sequence<int, Ms...>) {
  using V = typename T::V;
  constexpr int L = T::L, kMasks = RowTiles<R>::kMasks;
  V acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = T::zero();
  const index_t* run = t.run.data() + (p * t.kpanels + q) * kMasks;
  const index_t* va = t.val_at.data() + (p * t.kpanels + q) * kMasks;
  // Mask 0 is skipped (no row holds that column); the rest, each with its own compiled loop.
  ((Ms ? mask_run<T, NV, Prefetch, Masked, R, Ms>(t.col.data() + run[Ms], t.val.data() + va[Ms],
                                                  run[Ms + 1] - run[Ms], B, ldb, k0, m, acc)
       : void()),
   ...);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    if (r >= rows) break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {  // the first K panel writes C, later ones add to it
      float* c = C + r * ldc + v * L;
      tile_store<T, NV, Masked>(c, v, q == 0 ? acc[r][v] : T::add(tile_load<T, NV, Masked>(c, v, m), acc[r][v]), m);
    }
  }
}

template <class T, int R>
void spmm_csr_rt(const pb::SpmmArgs& g) {
  const pb::SparseWeights& W = *g.W;
  if (W.M == 0 || g.N == 0) return;
  // R rows x NV accumulators, NV B vectors and a weight must fit in the registers: 4 x 4 + 4 + 1 and 6 x 4 + 4 + 1
  // of AVX-512's 32, 4 x 2 + 2 + 1 and 6 x 2 + 2 + 1 of AVX2's 16.
  constexpr int NVmax = sizeof(typename T::V) == 64 ? 4 : 2;
  static_assert(R * NVmax + NVmax + 1 <= (sizeof(typename T::V) == 64 ? 32 : 16));
  // A quarter of L2 for the B slice (a tile twice as wide as NVmax): the sparse arrays stream past it.
  const index_t kb = panel_rows(W.K, 2 * NVmax * T::L);
  const std::string key = "rt" + std::to_string(R) + "/" + std::to_string(kb);
  // set-up: once per set of weights (N and threads do not change the tiles)
  const RowTiles<R>& t =
      *static_cast<const RowTiles<R>*>(W.prepared.get(key, [&] { return make_row_tiles<R>(W.csr, kb); }));
  if (t.reuse < row_tile_min_reuse<T, R>()) {  // chosen per pattern: the row tiles would not pay
    // Wide CSR tiles up to N = 512 (DLMC at N = 512: 1.13x the 8-vector tiles), the 8-vector ones beyond (ResNet
    // convolutions through im2col, N = 784 and 3136: wide tiles 5% and 11-19% slower).
    if (g.N <= 512) return spmm_csr_wide<T>(g);
    return spmm_csr<T>(g);
  }
  const auto bounds = pb::balance_rows(t.work, g.threads);
  constexpr int L = T::L;
  using Masks = std::make_integer_sequence<int, RowTiles<R>::kMasks>;
  const bool pack = pack_pays(W.csr.nnz(), W.K, g.N, t.kb, NVmax * L);  // each K panel's slice copied (pack_slice)
  // AVX-512 with B's rows on cache lines: never, with kb as above.
  const bool prefetch = prefetch_pays<T>(std::min(W.K, t.kb), NVmax * L, pack ? NVmax * L : g.ldb);
#pragma omp parallel num_threads(g.threads)
  {
    const int th = omp_get_thread_num();
    const index_t p0 = bounds[th], p1 = bounds[th + 1];
    float* const sbuf = pack ? own_slice(t.kb * NVmax * L) : nullptr;
    auto tile = [&]<int NV, bool Masked>(index_t j0, int lanes) {
      const typename T::Mask m = T::first_mask(lanes);
      for (index_t q = 0; q < t.kpanels; ++q) {
        const index_t k0 = q * t.kb, k1 = std::min(W.K, k0 + t.kb);
        const float* Bq = g.B + k0 * g.ldb + j0;
        index_t ldb = g.ldb;
        if (pack) {
          pack_slice<T, NV, Masked>(g.B, g.ldb, k0, k1, j0, sbuf, NV * L, m);
          Bq = sbuf, ldb = NV * L;
        }
        for (index_t p = p0; p < p1; ++p) {
          float* C = g.C + p * R * g.ldc + j0;
          const index_t rows = std::min<index_t>(R, W.M - p * R);
          if (prefetch)
            panel_tile<T, NV, true, Masked>(t, p, q, Bq, ldb, k0, C, g.ldc, rows, m, Masks{});
          else
            panel_tile<T, NV, false, Masked>(t, p, q, Bq, ldb, k0, C, g.ldc, rows, m, Masks{});
        }
      }
    };
    // The columns past the last whole tile: one tile of 1 to NVmax vectors, the last masked where it is partial.
    auto columns = [&] {
      index_t j = 0;
      for (; j + NVmax * L <= g.N; j += NVmax * L) tile.template operator()<NVmax, false>(j, L);
      if (j < g.N) last_tile<T, NVmax>(j, g.N, tile);
    };
    if (g.N == 1) {  // a matrix-vector product, row by row from the CSR arrays (see rows_kernel)
      for (index_t i = p0 * R; i < std::min<index_t>(p1 * R, W.M); ++i) {
        const index_t q0 = W.csr.rowptr[i], n = W.csr.rowptr[i + 1] - q0;
        row_scalar(CsrRow{W.csr.values.data() + q0, W.csr.colidx.data() + q0, n}, 0, n, true, g.B, g.ldb,
                   g.C + i * g.ldc, 0, 1);
      }
    } else {
      columns();
    }
  }
}
template <class T>
void spmm_csr_rt4(const pb::SpmmArgs& g) {
  spmm_csr_rt<T, 4>(g);
}
template <class T>
void spmm_csr_rt6(const pb::SpmmArgs& g) {
  spmm_csr_rt<T, 6>(g);
}

// ---- csr_stream: the row of C in L1, not in registers, as Eigen's sparse-times-dense product keeps it. Each pass
// runs over a whole row (in chunks of kStreamChunk floats) for G = 8 of its non-zeros at once: C's vector is loaded,
// gets eight FMAs with the eight B rows' vectors at the same columns, and is stored. Against the register tiles
// above it spends a C load and store per eight FMAs, but reads each B row in one contiguous run of the chunk (2 KB at
// N = 512) instead of a tile's 128-256 bytes, which the hardware prefetchers follow, and visits each non-zero once
// per chunk rather than once per tile. Measured on the Zen 4 guest, DLMC at N = 512, 2 threads, random interleaving:
// under PB_MAX_ISA=avx2 it took 0.73-0.96x the time of the fastest tile kernel on seven of the 42 layers, all at
// 90-95% with K <= 1152 (G = 4: on five, 0.76-0.86x), but 1.0-2.0x elsewhere (geomean 1.23x); at AVX-512 (32
// accumulators: tiles of 16 zmm) 0.94-0.97x on two layers (M = 64, K = 256), 1.0-2.4x on the other 40, and 1.0-2.6x on
// the rn50 layers at their batch sizes. So it is no default, but one of csr_auto's candidates.
constexpr index_t kStreamChunk = 2048;

// c[0, n) (+)= sum over g < G of w[g] * b[g][0, n). First: C is not read (its pass of the row's first non-zeros).
template <class T, int G>
inline void stream_pass(const float* const* b, const float* w, float* c, index_t n, bool first) {
  using V = typename T::V;
  constexpr int L = T::L;
  V wv[G];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) wv[g] = T::broadcast(w + g);
  auto at = [&](index_t j, auto load, auto store) {
    V acc = first ? T::zero() : load(c + j);
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) acc = T::fmadd(wv[g], load(b[g] + j), acc);
    store(c + j, acc);
  };
  index_t j = 0;
  for (; j + L <= n; j += L) at(j, [](const float* q) { return T::loadu(q); }, [](float* q, V x) { T::storeu(q, x); });
  if (j < n) {
    const typename T::Mask m = T::first_mask(static_cast<int>(n - j));
    at(j, [m](const float* q) { return T::loadu_mask(q, m); }, [m](float* q, V x) { T::storeu_mask(q, x, m); });
  }
}

template <class T, int G = 8>
void spmm_csr_stream(const pb::SpmmArgs& g) {
  const pb::Csr& A = g.W->csr;
  if (A.rows == 0 || g.N == 0) return;
  if (g.N == 1) return spmm_csr<T>(g);  // a matrix-vector product: row_scalar
  const auto bounds = pb::balance_rows(A.rowptr, g.threads);
#pragma omp parallel num_threads(g.threads)
  {
    const int t = omp_get_thread_num();
    const float* v = A.values.data();
    const std::int32_t* col = A.colidx.data();
    for (index_t i = bounds[t]; i < bounds[t + 1]; ++i) {
      const index_t p0 = A.rowptr[i], p1 = A.rowptr[i + 1];
      for (index_t j0 = 0; j0 < g.N; j0 += kStreamChunk) {
        const index_t n = std::min(kStreamChunk, g.N - j0);
        float* c = g.C + i * g.ldc + j0;
        if (p1 == p0) {
          std::memset(c, 0, sizeof(float) * static_cast<std::size_t>(n));
          continue;
        }
        const float* b[G];
        index_t p = p0;
        for (; p + G <= p1; p += G) {
#pragma GCC unroll 8
          for (int u = 0; u < G; ++u) b[u] = g.B + index_t(col[p + u]) * g.ldb + j0;
          stream_pass<T, G>(b, v + p, c, n, p == p0);
        }
        if (p == p1) continue;
        for (int u = 0; p + u < p1; ++u) b[u] = g.B + index_t(col[p + u]) * g.ldb + j0;
        // The last 1 to G - 1 non-zeros in one more pass.
        with_vector_count<G - 1>(static_cast<int>(p1 - p),
                                 [&]<int R>() { stream_pass<T, R>(b, v + p, c, n, p == p0); });
      }
    }
  }
}

// ---- csr_auto: no one CSR kernel above is the fastest everywhere (on the DLMC sample at N = 512, AVX-512, the
// fastest of ours was csr_l1 on most layers, csr_rt6 where rows share columns, csr or csr_wide on small K at 95%), and
// which one wins moves with the machine, N and the thread count. A user cannot pick from the table after the fact;
// this kernel picks at set-up (pb::fastest_by_trials: each candidate timed on the call's own operands, round robin)
// and from then on runs that one. The trials and the candidates' own set-ups are its set-up cost (setup_ms, with the
// calls it takes to pay back); the pick is the row's label. Per N and thread count.
template <class T>
void spmm_csr_auto(const pb::SpmmArgs& g);

struct AutoPick {
  pb::SpmmFn fn = nullptr;
  std::shared_ptr<pb::SparseWeights> weights;  // the pick's own copy, holding its prepared form
};

template <class T>
std::vector<pb::Kernel<pb::SpmmFn>> openmp_spmm_table();  // below

template <class T>
std::shared_ptr<AutoPick> pick_fastest_csr(const pb::SpmmArgs& g, std::string& chosen) {
  // The candidates: every kernel of the table that reads CSR alone, but this one (a new CSR variant joins by itself),
  // each on a copy of the weights: one prepared form per set of weights, and the candidates' differ.
  std::vector<std::string> names;
  std::vector<AutoPick> picks;
  std::vector<std::function<void()>> runs;
  for (const auto& k : openmp_spmm_table<T>())
    if (k.info.formats == std::vector<std::string>{"csr"} && k.run != spmm_csr_auto<T>) {
      names.push_back(k.info.variant);
      picks.push_back({k.run, std::make_shared<pb::SparseWeights>(*g.W)});
    }
  for (const AutoPick& p : picks)
    runs.push_back([&g, &p] {
      pb::SpmmArgs a = g;
      a.W = p.weights.get();
      p.fn(a);
    });
  bool shared = false;
  const std::size_t win = pb::fastest_by_trials(runs, 3, g.threads, &shared);
  chosen = names[win] + (shared ? " (threads sharing a core)" : "");
  return std::make_shared<AutoPick>(picks[win]);
}

template <class T>
void spmm_csr_auto(const pb::SpmmArgs& g) {
  const pb::SparseWeights& W = *g.W;
  if (W.csr.rows == 0 || g.N == 0) return;
  if (g.N == 1) {
    // A matrix-vector product: every candidate runs csr's dot products (row_scalar), some after a set-up of their
    // own (DLMC final_dense at 70%: 44 ms of trials and row tiles, 2400 calls to pay back). Nothing to pick.
    W.prepared.get("auto/N:1", [&] {
      W.prepared.chosen = "csr";
      return std::shared_ptr<void>();
    });
    return spmm_csr<T>(g);
  }
  const std::string key = "auto/N:" + std::to_string(g.N) + "/threads:" + std::to_string(g.threads);
  const AutoPick& pick =
      *static_cast<const AutoPick*>(W.prepared.get(key, [&] { return pick_fastest_csr<T>(g, W.prepared.chosen); }));
  pb::SpmmArgs a = g;
  a.W = pick.weights.get();
  pick.fn(a);
}

std::string openmp_always() { return {}; }

// The registry entries of the openmp SpMM kernels, one line each. They sit here, beside the templates, because
// each ISA translation unit (spmm_openmp_<isa>.cc) instantiates the whole table: spmm_kernels() takes the widest
// instance this CPU runs, the tests take every instance. A new variant is its template above and one line here.
template <class T>
std::vector<pb::Kernel<pb::SpmmFn>> openmp_spmm_table() {
  using pb::pattern_fits_bsr, pb::pattern_fits_csr, pb::pattern_fits_nm;
  return {
      {{"spmm", "openmp", "csr", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr<T>},
      {{"spmm", "openmp", "bsr", {"bsr"}, openmp_always, pattern_fits_bsr}, spmm_bsr<T>},
      {{"spmm", "openmp", "nm", {"nm"}, openmp_always, pattern_fits_nm}, spmm_nm<T>},
      {{"spmm", "openmp", "csr_wide", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_wide<T>},
      {{"spmm", "openmp", "csr_rt4", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_rt4<T>},
      {{"spmm", "openmp", "csr_rt6", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_rt6<T>},
      {{"spmm", "openmp", "csr_l1", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_l1<T>},
      {{"spmm", "openmp", "csr_stream", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_stream<T>},
      {{"spmm", "openmp", "csr_auto", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_auto<T>},
  };
}

}  // namespace
