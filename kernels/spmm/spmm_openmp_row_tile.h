// One row's tile, what the CSR-like kernels of the other spmm_openmp_*.h files are made of: the sparse row
// accessors, tile loads and stores under a mask, row_tile (a row's non-zeros against a tile of B that stays in
// registers) and the dot products of a matrix-vector product (N = 1).
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

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
// Tried on Zen 3 (AVX2): AVX2's gather instruction, 1.9x the time of this loop in a microbenchmark of it; eight B
// elements per vector, each broadcast from memory (a load, no shuffle) and blended into its lane, in two chains joined
// by a last blend: 1.01-1.08x the time (abab, 16 pairs, final_dense at 70-95%, 1 and 2 threads; its eight indices read
// by one 32-byte memcpy went through the stack and took 2x), so not kept. On Intel cores the blends might win:
// vinsertps and the join of two halves (14 shuffles per 16 non-zeros) all go to port 5, the blends to three ports.
// llvm-mca 14 puts the two loops at 9.9 and 12.1 cycles per 16 non-zeros on znver3 (the order measured), 14.1 and 13.1
// on its Skylake-to-Sapphire-Rapids models, where the blends' 26 loads then bind on two load ports (Golden Cove has
// three). Not measured on Intel.
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

}  // namespace
