// csr_l1: the B slice a tile reads kept in L1, not L2. In csr (spmm_openmp_csr.h), a row's non-zeros each load NV
// vectors of B from a K x tile slice that stays in L2: one L2 line per FMA, which held csr_wide at 2.5-4.5 cycles per
// zmm FMA on the DLMC sample at 95% (AVX-512, N = 512; the same loop from L1 alone: 0.9). Here K goes in panels of kb
// rows whose slice (kb rows of a tile of NV vectors, see spmm_csr_l1) fills L1; each thread copies the panel's slice
// into its own contiguous buffer (the rows of B lie N floats apart and would fall into a fraction of L1's sets), then
// runs every row's non-zeros of that panel against it.
// What a row keeps between panels, its NV accumulator vectors, goes to a contiguous per-thread buffer in L2 (C's rows
// lie N floats apart too: written in place, 1.3x the time at 768x512x3072, 90%), copied to C after the last panel. The
// price is a C tile load and store per row and panel, worth it where each row holds enough non-zeros of a panel: the
// large-K layers (K >= 1152 on the DLMC sample on AVX-512, where small K (256) with one panel of csr_wide's slice in
// L2 is faster; on Zen 3, AVX2 with a 512 KiB L2, csr_l1 was the fastest of ours on 40 of the 42 layers).
// The non-zeros are reordered once per set of weights into panel-major order (all rows' entries of panel 0, then
// of panel 1, ...) with columns relative to the panel: taken straight from the CSR arrays, each row's panel starts
// a new page of them, which no prefetcher follows (2:4 at 768x512x3072: 1.8x the time or more).
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prunebench/spmm.h"
#include "spmm_openmp_row_tile.h"
#include "spmm_openmp_slices.h"

namespace {

using pb::index_t;

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

}  // namespace
