// bsr: block rows that share each B row segment they load, in place (N = 1) and through csr_l1's L1 panels.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "prunebench/spmm.h"
#include "spmm_openmp_row_tile.h"
#include "spmm_openmp_slices.h"
#include "spmm_openmp_csr_l1.h"

namespace {

using pb::index_t;

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

// bsr through L1 panels, as csr_l1 (spmm_openmp_csr_l1.h): K in panels of kb rows, a whole number of block columns;
// each thread copies its columns' slice of B into its own buffer, then runs every block row's blocks of the panel
// against it. A register tile of RT rows of a block row (RT = BR up to 4) keeps RT x NV accumulators (8 in all); per
// column of a block, NV loads of B and RT broadcasts feed RT x NV FMAs (block4x4: 6 loads per 8 FMAs, CSR 10). 8-row
// blocks run as two halves of 4 rows: each B vector is loaded twice, but a whole-height tile (one vector, 8 broadcasts
// per 8 FMAs) did worse. The blocks are laid out once per set of weights in panel-major order. Read from B in place
// (spmm_bsr_fixed above, the B slice in L2), block1x4 and block4x4 ran slower than csr_l1 on the same weights at
// 3072x128x768; on Zen 3 (2 threads, scripts/abab, 12 pairs, 50-95%) the panels took 0.56-0.87x its time, keeping B in
// registers (below) 0.73-0.83x more at BR = 4, and blocks 4 columns wide unrolled (BC = 4) 0.83-0.90x more: then
// 0.85-0.95x csr_l1's time at block4x4 and 0.93-0.96x at block1x4. Blocks 1 and 8 columns wide unrolled too, and the
// halves (Zen 3, scripts/abab, 10 pairs, 3072x128x768 at 50 and 90%, 1 and 2 threads): block4x1 0.67-0.69x the time,
// block8x8 0.72-0.77x (unrolled alone 0.88x, the halves 0.79-0.86x more); before, both took 1.16-1.82x csr_l1's time on
// their weights. Other widths (2x3: 0.95-1.02x csr_l1's) run their column loop to the block's width.
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

}  // namespace
