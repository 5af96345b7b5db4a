// csr_stream: the row of C in L1, not in registers, as Eigen's sparse-times-dense product keeps it. Each pass runs over
// a whole row (in chunks of kStreamChunk floats) for G = 8 of its non-zeros at once: C's vector is loaded, gets eight
// FMAs with the eight B rows' vectors at the same columns, and is stored. Against the register tiles of csr, csr_l1 and
// csr_rt it spends a C load and store per eight FMAs, but reads each B row in one contiguous run of the chunk (2 KB at
// N = 512) instead of a tile's 128-256 bytes, which the hardware prefetchers follow, and visits each non-zero once per
// chunk rather than once per tile. Measured on the Zen 4 guest, DLMC at N = 512, 2 threads, random interleaving: under
// PB_MAX_ISA=avx2 it took 0.73-0.96x the time of the fastest tile kernel on seven of the 42 layers, all at 90-95% with
// K <= 1152 (G = 4: on five, 0.76-0.86x), but 1.0-2.0x elsewhere (geomean 1.23x); at AVX-512 (32 accumulators: tiles of
// 16 zmm) 0.94-0.97x on two layers (M = 64, K = 256), 1.0-2.4x on the other 40, and 1.0-2.6x on the rn50 layers at
// their batch sizes. So it is no default, but one of csr_auto's candidates.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "prunebench/spmm.h"
#include "spmm_openmp_row_tile.h"
#include "spmm_openmp_slices.h"

namespace {

using pb::index_t;

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

}  // namespace
