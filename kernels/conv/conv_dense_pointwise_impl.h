// 1x1 layers (stride 1, no padding): y = W x with W the K x C filters and x the C x HW input, a GEMM whose
// right-hand side is the input as it lies. Pixels go in the vector here (the outputs of one filter are a row of
// y, so no transpose), MR filters are broadcast (the filters packed once, MR at a time, channel-major): per
// channel NV vector loads of x and MR broadcasts feed MR x NV FMAs, as in a GEMM micro-kernel. Unlike our GEMM
// (which packs B, then each A block, per call) the input is only copied where its rows are not whole vectors.
// TP > 0: the TP (<= 4) pixels after the tile's NR (a row's last, past its whole vectors) ride along with
// filters in the vector: per channel one more load of the MR packed weights (the lanes past MR read the next
// channel's and are never stored), TP broadcasts folded into TP FMAs. On their own they need a tile of one vector,
// MR broadcasts for MR FMAs: at C2048@7 (49 pixels = 3 vectors + 1) that tile cost a fifth of the layer's time
// (0.79x with it riding along), at C1024@14 (196 = 4 panels + 4) 0.95x (scripts/abab). With 8 x 3 tiles on
// AVX-512 the 4 tail sums fill the 32 registers exactly (no spills: the input vectors are dead by then).
// pf (or null): the next panel of pixels, fetched into L2 one channel row per channel while this tile runs.
// Part of the dense direct convolution (conv_dense_direct_impl.h), which sends 1x1 layers here.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "prunebench/conv.h"
#include "prunebench/cpu.h"
#include "prunebench/types.h"
#include "conv_dense_packed.h"

namespace pb::detail {

namespace conv_dense {

template <class S, int MR, int NV, int TP = 0>
void pw_tile(const float* a, const float* b, index_t ldb, index_t kc, float* y, index_t ldy, index_t mr, index_t nr,
             bool first, const float* pf = nullptr) {
  using V = typename S::V;
  constexpr int L = S::L, NR = NV * L;
  V acc[MR][NV], tacc[TP > 0 ? TP : 1];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
#pragma GCC unroll 4
  for (int t = 0; t < TP; ++t) tacc[t] = S::zero();
  for (index_t c = 0; c < kc; ++c, a += MR, b += ldb) {
    if (pf) {
#pragma GCC unroll 4
      for (int v = 0; v < NR; v += 64 / int(sizeof(float))) __builtin_prefetch(pf + c * ldb + v, 0, 2);
    }
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = S::loadu(b + v * L);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const V w = S::broadcast(a + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = S::fmadd(w, bv[v], acc[i][v]);
    }
    if constexpr (TP > 0) {
      const V wv = S::loadu(a);
#pragma GCC unroll 4
      for (int t = 0; t < TP; ++t) tacc[t] = S::fmadd(wv, S::broadcast(b + NR + t), tacc[t]);
    }
  }
  if constexpr (TP > 0) {
    alignas(64) float tt[TP][L];
#pragma GCC unroll 4
    for (int t = 0; t < TP; ++t) S::storeu(tt[t], tacc[t]);
    for (index_t i = 0; i < mr; ++i)
      for (int t = 0; t < TP; ++t) {
        float& o = y[i * ldy + NR + t];
        o = first ? tt[t][i] : o + tt[t][i];
      }
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float* o = y + i * ldy + v * L;
        S::storeu(o, first ? acc[i][v] : S::add(S::loadu(o), acc[i][v]));
      }
    return;
  }
  alignas(64) float t[MR][NR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) S::storeu(t[i] + v * L, acc[i][v]);
  for (index_t i = 0; i < mr; ++i)
    for (index_t j = 0; j < nr; ++j) y[i * ldy + j] = first ? t[i][j] : y[i * ldy + j] + t[i][j];
}

// The filters for the 1x1 path: panels of MR filters, channel-major inside a panel (Ap[panel][c][i]), zero past K.
// `pad` zeros after them: the tail pixels' weight vector (pw_tile) reads up to a vector past the last panel.
inline void pack_pointwise(const ConvShape& s, const float* w, int mr, index_t pad, float* d) {
  for (index_t k0 = 0; k0 < s.K; k0 += mr)
    for (index_t c = 0; c < s.C; ++c)
      for (index_t i = 0; i < mr; ++i) *d++ = k0 + i < s.K ? w[(k0 + i) * s.C + c] : 0.0f;
  std::fill(d, d + pad, 0.0f);
}

// The ragged last panel: the instance with nv vectors (1 <= nv <= NV).
template <class S, int MR, int NV>
void ragged_tile(int nv, const float* a, const float* b, index_t ldb, index_t kc, float* y, index_t ldy, index_t mr,
                 index_t nr, bool first) {
  if constexpr (NV > 1)
    if (nv < NV) return ragged_tile<S, MR, NV - 1>(nv, a, b, ldb, kc, y, ldy, mr, nr, first);
  pw_tile<S, MR, NV>(a, b, ldb, kc, y, ldy, mr, nr, first);
}

// The last full panel with tp (1 <= tp <= TP) tail pixels riding along: the instance for tp.
template <class S, int MR, int NV, int TP = 4>
void riding_tile(int tp, const float* a, const float* b, index_t ldb, index_t kc, float* y, index_t ldy, index_t mr,
                 bool first) {
  if constexpr (TP > 1)
    if (tp < TP) return riding_tile<S, MR, NV, TP - 1>(tp, a, b, ldb, kc, y, ldy, mr, first);
  pw_tile<S, MR, NV, TP>(a, b, ldb, kc, y, ldy, mr, NV * S::L, first);
}

template <class S, int MR, int NV>
void pointwise(const ConvArgs& a) {
  constexpr int L = S::L, NR = NV * L;
  const ConvShape& s = a.s;
  const index_t HW = s.H * s.W, kblocks = (s.K + MR - 1) / MR, panels = (HW + NR - 1) / NR;
  const float* wp = packed(a, "pointwise/" + std::to_string(MR), static_cast<std::size_t>(kblocks * MR * s.C + L),
                           [&](float* d) { pack_pointwise(s, a.w, MR, L, d); });
  const index_t T = std::max(1, a.threads);
  // Each thread streams the larger operand once and reads the smaller from cache. Where the filters outweigh the
  // input (late ResNet layers: C2048 K512 at 7x7, 4 MB against 0.4 MB) threads split the filters; channels go in
  // chunks whose slice of the input fits in half of L2, and each filter block, its MR x kc weights in L1, passes
  // over the whole slice (splitting the pixels there measured 1.23x slower at C1024@14 K256 and 1.56x at C2048@7:
  // scripts/abab, 12 pairs, 2 threads, with three vectors of pixels a panel: 5 panels at C1024@14 on AVX-512).
  // Otherwise threads split the pixels; chunks are sized so that one panel of pixels (kc x NR) fits in half of L1,
  // and every filter block passes over that panel before the next one is read. The pixel split keeps the input in
  // L1 where the filter split reads it from L2, so it also wins on filter-heavy layers wherever each thread gets at
  // least 6 panels (one more or fewer is then a small share): on Zen 3 (AVX2, 16-pixel panels, 13 at C1024@14)
  // splitting the pixels took 0.91x the time at 1 thread and 0.93x at 2 (scripts/abab, 24 pairs), and 1.14x at C2048@7
  // (4 panels, 2 threads).
  const bool by_filters = s.K * s.C > s.C * HW && kblocks >= T && panels < 6 * T;
  const index_t l1 = std::max<std::int64_t>(cpu::cache_bytes(1), 32 << 10);
  const index_t l2 = std::max<std::int64_t>(cpu::cache_bytes(2), 256 << 10);
  const index_t slice = index_t(sizeof(float)) * (by_filters ? HW : NR);
  const index_t kc = std::clamp<index_t>((by_filters ? l2 : l1) / 2 / slice, 16, s.C);
  for (index_t n = 0; n < s.N; ++n) {
    const float* x = a.x + n * s.C * HW;
    float* y = a.y + n * s.K * HW;
#pragma omp parallel num_threads(a.threads)
    {
      const index_t t = omp_get_thread_num();
      const index_t kb0 = by_filters ? kblocks * t / T : 0, kb1 = by_filters ? kblocks * (t + 1) / T : kblocks;
      const index_t p0 = by_filters ? 0 : panels * t / T, p1 = by_filters ? panels : panels * (t + 1) / T;
      // Where rows of x are not whole vectors (HW = 196, 49: three loads in four would straddle two cache lines,
      // and the last vector would read past x), the thread's pixels of each chunk are first copied into aligned,
      // zero-padded rows, each thread its own (one copy shared by the threads that split the filters was 1.12x
      // slower at C1024@14: half of it then comes from the other core's L2). The copied rows lie a whole number of
      // cache lines apart: at C2048@7 rows of 56 floats (224 B) took 1.09x the time of rows of 64 at 1 and 2 threads
      // on Zen 3 (scripts/abab, 14 pairs; C1024@14, 208 against 200, unchanged). A ragged last panel runs the
      // instance with as few vectors as hold it (a full-width tile would waste up to NV - 1 vectors of FMAs).
      const index_t rem = HW % NR, nvr = (rem + L - 1) / L;
      const bool ragged = rem != 0 && p0 < p1 && p1 == panels, copy = p0 < p1 && HW % L != 0;
      const index_t j0 = p0 * NR, jn = std::min(HW, p1 * NR) - j0, ldc = (jn + 15) / 16 * 16;  // 64 B
      static thread_local AlignedBuffer<float> buf;
      if (copy) buf.reserve_at_least(static_cast<std::size_t>(kc * ldc));
      for (index_t c0 = 0; c0 < s.C; c0 += kc) {
        const index_t cn = std::min(kc, s.C - c0);
        if (copy)
          for (index_t c = 0; c < cn; ++c) {
            float* d = buf.data() + c * ldc;
            std::memcpy(d, x + (c0 + c) * HW + j0, sizeof(float) * jn);
            std::memset(d + jn, 0, sizeof(float) * (ldc - jn));
          }
        const float* b = copy ? buf.data() : x + c0 * HW + j0;
        const index_t ldb = copy ? ldc : HW;
        // A ragged panel of one to four pixels rides along with the last full one (pw_tile's TP); with 16
        // registers two at most: a third tail sum spilled with 4 x 3 tiles. With AVX2's 6 x 2 tiles (15 registers)
        // the two still pay: without riding C2048@7 took 1.10-1.16x the time (Zen 4 guest, PB_MAX_ISA=avx2).
        const bool ride = ragged && rem <= (L == 16 ? 4 : 2) && p1 - p0 >= 2;
        const index_t full = ragged ? p1 - p0 - 1 : p1 - p0, last = ride ? full - 1 : -1, tiles = ride ? full : p1 - p0;
        // The pixel split reads each panel's cn rows of x once from memory (3 lines a row at AVX-512, HW floats
        // apart: no hardware prefetcher follows them), then from L1 for the other filter blocks. The first filter
        // block therefore fetches the next panel (or the next chunk's first) into L2 as it goes. Measured on a 2-core
        // AVX-512 Xeon (scripts/abab, 12 pairs): 0.92x the time at C256@56 K64, 0.96x at C64@56 K256, 0.98x at
        // C512@28; under PB_MAX_ISA=avx2 (then 4 x 3 tiles, slower to compute a panel) within noise (0.98-1.01x).
        auto next = [&](index_t p) -> const float* {
          if (by_filters || copy) return nullptr;
          if (p + 1 < full) return b + (p + 1) * NR;
          return c0 + cn < s.C ? x + (c0 + cn) * HW + j0 : nullptr;
        };
        auto tile = [&](index_t kb, index_t p) {
          const float* ak = wp + (kb * s.C + c0) * MR;
          const index_t mr = std::min<index_t>(MR, s.K - kb * MR);
          float* yk = y + kb * MR * HW + j0 + p * NR;
          if (p == last)
            riding_tile<S, MR, NV>(int(rem), ak, b + p * NR, ldb, cn, yk, HW, mr, c0 == 0);
          else if (p < full)
            pw_tile<S, MR, NV>(ak, b + p * NR, ldb, cn, yk, HW, mr, NR, c0 == 0, kb == kb0 ? next(p) : nullptr);
          else
            ragged_tile<S, MR, NV>(int(nvr), ak, b + p * NR, ldb, cn, yk, HW, mr, rem, c0 == 0);
        };
        if (by_filters) {
          for (index_t kb = kb0; kb < kb1; ++kb)
            for (index_t p = 0; p < tiles; ++p) tile(kb, p);
        } else {
          for (index_t p = 0; p < tiles; ++p)
            for (index_t kb = kb0; kb < kb1; ++kb) tile(kb, p);
        }
      }
    }
  }
}

}  // namespace conv_dense

}  // namespace pb::detail
