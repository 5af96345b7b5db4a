// nm: N:M rows (n non-zeros in every group of m columns) through csr_l1's panels, a panel a whole number of
// groups. Per slot the loop reads a weight and a one-byte index (CSR: a four-byte column). N:M rows used to go through
// rows_kernel (the B slice in L2, as csr reads it); on Zen 3 (2 threads, scripts/abab, 16 pairs) the panels took
// 0.54-0.63x its time at 2:4 (3072x128x768, 768x128x3072, 768x512x3072). As for csr_l1, the slots are laid out once
// per set of weights in panel-major order (all rows' slots of panel 0, then of panel 1, ...): read in place, a row's
// slots of one panel lie a whole row of the N:M arrays from the next row's, and the panel-major copy took 0.87-0.92x
// the time of reading them there. Same runs: about csr_l1's time (0.94-1.10x); the index arithmetic (slot / n * m +
// index) costs what the smaller index saves.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prunebench/spmm.h"
#include "spmm_openmp_row_tile.h"
#include "spmm_openmp_csr_l1.h"

namespace {

using pb::index_t;

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

}  // namespace
