// csr and csr_wide. Shape of the work: C rows are independent, so threads take row ranges of equal non-zero count
// (balance_rows). Inside a range, the columns of C go in tiles of NV vectors that stay in registers while a row's
// non-zeros stream by: per non-zero, one broadcast of the weight, NV loads of a B row segment, NV FMAs (row_tile).
// Loads equal FMAs, so the kernel is bound by L1/L2 load bandwidth, not FMA throughput; NV = 8 gives 8 independent
// accumulators, enough to hide FMA latency (4 cycles x 2 ports). Column tiles are the outer loop so a K x tile slice
// of B stays cache-resident (in L2) across all rows of the range.
#pragma once
#include <omp.h>

#include <algorithm>
#include <vector>

#include "prunebench/spmm.h"
#include "spmm_openmp_row_tile.h"
#include "spmm_openmp_slices.h"

namespace {

using pb::index_t;

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

// Column tiles of 16 vectors where the ISA has 32 vector registers (AVX-512: 16 accumulators, a broadcast and a
// load in flight), 8 elsewhere. Per non-zero the broadcast and the column index are then loaded once per 16 FMAs
// instead of 8, and the sparse arrays stream past half as often; the B slice a tile keeps in cache doubles.
template <class T>
void spmm_csr_wide(const pb::SpmmArgs& g) {
  spmm_csr<T, sizeof(typename T::V) == 64 ? 16 : 8>(g);
}

}  // namespace
