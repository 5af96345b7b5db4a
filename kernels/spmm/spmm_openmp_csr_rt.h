// csr_rt4 / csr_rt6: register tiles of R rows that share each B load (in the spirit of Sparse Register
// Tiling, Wilkinson et al., PLDI 2023, without code generation). Set-up, once per set of weights: rows go in panels
// of R; a panel's non-zeros are regrouped by column, and each column by which of the R rows hold it (an R-bit
// mask). The columns of one mask form a run, and each run is multiplied by a loop compiled for that mask: per
// column, NV B vectors are loaded once and feed an FMA for every row in the mask, into accumulators named at
// compile time. On DLMC at 90% a 4-row panel holds 1.22 non-zeros per distinct column (1.64 at 70%), so B is read
// that much less. Six rows raise that (2:4: 3.05 against 2.13 non-zeros per column; DLMC at 70%: 2.04-2.47
// against 1.59-1.87) for 4x as many masks, so shorter runs (each ends in a mispredicted branch) and more code.
// Where the reuse is too small to pay (row_tile_min_reuse), the set-up picks the CSR kernel instead.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prunebench/spmm.h"
#include "spmm_openmp_row_tile.h"
#include "spmm_openmp_slices.h"
#include "spmm_openmp_csr.h"

namespace {

using pb::index_t;

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

}  // namespace
