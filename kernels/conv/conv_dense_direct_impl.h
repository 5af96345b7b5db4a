// Dense direct convolution with output register tiles vectorised over output channels, for one SIMD width
// (instantiated per ISA in conv_dense_direct_<isa>.cc). No im2col is built: a tile is KV vectors of output
// channels (KV x L filters) by P consecutive outputs of one row, KV x P accumulators. Per filter tap (c, r, s):
// KV vector loads of the packed filters, P broadcasts of input values read straight from a padded copy of the
// input, KV x P FMAs. Loads per FMA: (KV + P) / (KV x P), 0.57 for AVX-512's 2 x 14 (an im2col GEMM reads its
// unfolded input, 9x the input for 3x3, from L2 or beyond). This is the layout oneDNN's kernels use (channels in
// the vector); the difference is that our activations stay NCHW, so each tile's outputs are transposed on the way
// out (KV x L x P scalar stores against KV x P x C x R x S FMAs: 3% for C64 3x3, which is why 1x1 layers, whose
// reduction is only C long, have their own path: conv_dense_pointwise_impl.h).
//
// The filters are packed once per set of weights (as oneDNN reorders its weights once; the row's setup_ms), the
// padded input is copied on every call (inside the timing).
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

#include "prunebench/conv.h"
#include "prunebench/cpu.h"
#include "prunebench/types.h"
#include "conv_dense_packed.h"
#include "conv_dense_pointwise_impl.h"

namespace pb::detail {

namespace conv_dense {

// Which taps of a tile read the image, not its zero padding: filter rows [r0, r1) for the whole tile (its output
// row's), and for its first output the columns q >= qlo, for its last q < qhi (qlo <= qhi: else neither skips).
// Multiplying the padding is not wrong (the padded copy holds zeros), only wasted: with 3x3 filters 9% of the FMAs
// at 14x14, 18% at 7x7 (oneDNN skips them: at C512@7 our FMA rate was 96% of peak, our useful rate 0.8x oneDNN's).
// Outputs inside a tile read the padding only at stride 2 with pad > 1 (the 7x7 stem), which skipping the first and
// last covers in part.
//
// Measured on the Zen 4 guest (scripts/abab, 8-10 pairs), time against computing every tap: native AVX-512
// 0.83-0.84x at C512@7, 0.89-0.91x at C256@14, 0.95x at C128@28, 0.97-0.99x at C64@56; under PB_MAX_ISA=avx2
// 0.68-0.69x at C512@7 (rows of 7 in tiles of 4 + 3: more than the 18% of FMAs saved, not explained), 0.85-0.91x
// at C256@14, the same at 28 and 56. The tests sit in the loop only in this instance (tile's SKIP): where the one
// loop of every tile carried them, even tiles that skipped nothing took 1.16-1.35x the time under AVX2 (15 of its
// 16 registers hold the tile). The narrow last block's tiles (one vector of filters) compute every tap: not
// measured.
struct Taps {
  index_t r0, r1, qlo, qhi;
};

// One tile: KV x L filters (from w, packed [c][r][s][KV x L]) by P outputs of one row, whose first input is x
// (channel 0, filter row 0 of the padded input; channels cstride floats apart, rows rstride). Writes the outputs
// of filters [0, kvalid) to y (filter k at y + k * ystride). FSC > 0: the filter width, known at compile time
// (else FS), so a filter row's taps unroll.
template <class S, int KV, int P, int STR, bool SKIP = false, int FSC = 0>
void tile(const float* x, const float* w, index_t C, index_t R, index_t FS, index_t cstride, index_t rstride, float* y,
          index_t ystride, index_t kvalid, Taps taps) {
  using V = typename S::V;
  constexpr int L = S::L;
  V acc[KV][P];
#pragma GCC unroll 32
  for (int v = 0; v < KV; ++v)
#pragma GCC unroll 32
    for (int p = 0; p < P; ++p) acc[v][p] = S::zero();
  // SKIP: taps.r0/r1 bound the filter rows, and the first (last) output leaves out the columns before qlo (from
  // qhi); else every tap (see Taps).
  for (index_t c = 0; c < C; ++c)
    for (index_t r = 0; r < R; ++r) {
      if constexpr (SKIP)
        if (r < taps.r0 || r >= taps.r1) {
          w += FS * KV * L;
          continue;
        }
      const float* xr = x + c * cstride + r * rstride;
      const index_t fs = FSC > 0 ? FSC : FS;
      for (index_t q = 0; q < fs; ++q, w += KV * L) {
        // Without this the compiler carries the overlapping input values of tap q into tap q + 1 as scalars
        // and spills them and an accumulator to the stack; a reload from L1 is cheaper.
        asm volatile("" ::: "memory");
        V wv[KV];
#pragma GCC unroll 8
        for (int v = 0; v < KV; ++v) wv[v] = S::load(w + v * L);
        [[maybe_unused]] const bool skip_first = SKIP && q < taps.qlo, skip_last = SKIP && q >= taps.qhi;
#pragma GCC unroll 32
        for (int p = 0; p < P; ++p) {
          if constexpr (SKIP)
            if ((p == 0 && skip_first) || (p == P - 1 && skip_last)) continue;
          const V xb = S::broadcast(xr + q + p * STR);
#pragma GCC unroll 8
          for (int v = 0; v < KV; ++v) acc[v][p] = S::fmadd(wv[v], xb, acc[v][p]);
        }
      }
    }
  // Channels are in the vector, NCHW wants outputs in a row: out through a small transposing buffer.
  alignas(64) float t[P][KV * L];
#pragma GCC unroll 32
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 8
    for (int v = 0; v < KV; ++v) S::storeu(t[p] + v * L, acc[v][p]);
  for (index_t k = 0; k < kvalid; ++k)
#pragma GCC unroll 32
    for (int p = 0; p < P; ++p) y[k * ystride + p] = t[p][k];
}

using TileFn = void (*)(const float*, const float*, index_t, index_t, index_t, index_t, index_t, float*, index_t,
                        index_t, Taps);

// tiles[P - 1]: the instance for P outputs, P = 1 .. PM (the last tile of a row is narrower).
// FSC (see tile) only for AVX2's tiles of up to 5 outputs. With the 3 taps of a 3x3 filter row unrolled, on Zen 3
// (scripts/abab, 14 pairs, 2 threads) layers took 0.80x the time at C256@14 (tiles of 4 and 5 outputs) and C512@7 (4
// + 3), 0.91x at C64@56 and 0.93x at C128@28 (tiles of 5 and 6; at one thread the same time). Unrolled, the 6-output
// tile (12 accumulators) spills 12 vectors to the stack, and with it C64@56 took 1.37x at one thread. Without the
// tests that skip the padding's taps it does not spill, but the inner tiles of a row (nothing to skip) run as fast
// with the loop: 0.95-1.06x the time unrolled (abab, 14 pairs). So the gain is mostly in the edge tiles, whose tests
// the unrolled taps settle at compile time. AVX-512's and the generic tiles keep the loop: not measured.
template <class S, int KV, int STR, bool SKIP, int FSC, int... Ps>
constexpr std::array<TileFn, sizeof...(Ps)> tile_table(std::integer_sequence<int, Ps...>) {
  return {tile<S, KV, Ps + 1, STR, SKIP, (S::L == 8 && Ps + 1 < 6 ? FSC : 0)>...};
}

// For the k x k tiles: blocks of `block` filters, tap-major, zero-padded past K; the last block `last` wide (the
// narrow tiles' width where it holds no more filters than that, see conv_dense_direct).
inline void pack(const ConvShape& s, const float* w, int block, int last, float* d) {
  const index_t CRS = s.C * s.R * s.S, nkb = (s.K + block - 1) / block;
  for (index_t kb = 0; kb < nkb; ++kb) {
    const index_t width = kb + 1 < nkb ? block : last;
    for (index_t t = 0; t < CRS; ++t)
      for (index_t j = 0; j < width; ++j) {
        const index_t k = kb * block + j;
        *d++ = k < s.K ? w[k * CRS + t] : 0.0f;
      }
  }
}

}  // namespace conv_dense

// KV vectors of filters by PM outputs: 2 x 14 on AVX-512 (28 of 32 registers, the input broadcast folded into
// the FMA), 2 x 6 on the 16-register ISAs (12, plus the filter vectors and a broadcast). 1x1 layers: MR filters by
// PV vectors of pixels: 8 x 3 on AVX-512, 6 x 2 on AVX2 (as its GEMM's 6 x 16), 4 x 3 in the generic build.
// AVX2's 6 x 2 loads two vectors of the input per 12 FMAs where 4 x 3 loaded three: on the Zen 4 guest under
// PB_MAX_ISA=avx2 (whose AVX2 FMA peak is its AVX-512 one) 4 x 3 ran at 55-63% of peak and 0.52-0.68x oneDNN's
// jit_1x1:avx2, and 6 x 2 took 0.58-0.75x its time (scripts/abab, 6 pairs, the five 1x1 layers of the default
// profile). On Zen 3 (AVX2 only) 6 x 2 took 0.66-0.76x the time of 4 x 3 on the same layers (scripts/abab, 8 pairs).
template <class S, int KV = 2, int PM = (S::L == 16 ? 14 : 6), int MR = (S::L == 16 ? 8 : S::L == 8 ? 6 : 4),
          int PV = (S::L == 8 ? 2 : 3)>
void conv_dense_direct(const ConvArgs& a) {
  using namespace conv_dense;
  constexpr int L = S::L, KB = KV * L;
  const ConvShape& s = a.s;
  if (s.N == 0) return;
  if (s.R == 1 && s.S == 1 && s.stride == 1 && s.pad == 0) return pointwise<S, MR, PV>(a);
  if (s.stride != 1 && s.stride != 2) return conv_openmp(a);  // stride 1 and 2 have instances
  const index_t OH = s.OH(), OW = s.OW(), Hp = s.H + 2 * s.pad, Wp = s.W + 2 * s.pad, plane = Hp * Wp;
  const index_t nkb = (s.K + KB - 1) / KB, CRS = s.C * s.R * s.S;
  if (OH <= 0 || OW <= 0) return;
  // A last block of at most L filters (K = 48 on AVX-512: 32 + 16) runs tiles of one vector of filters instead of
  // KV, whose other vectors would multiply zero filters: at C64@28 K48 (half of 96 filters pruned) they ran a quarter
  // of the layer's FMAs.
  const bool narrow = KV > 1 && s.K - (nkb - 1) * KB <= L;
  std::string name = "direct/" + std::to_string(KB);  // the packing's cache key: block width, and the last's
  if (narrow) (name += '/') += std::to_string(L);
  const float* wp = packed(a, name, static_cast<std::size_t>(nkb * CRS * KB),
                           [&](float* d) { pack(s, a.w, KB, narrow ? L : KB, d); });
  static constexpr auto tiles1 = tile_table<S, KV, 1, true, 0>(std::make_integer_sequence<int, PM>{});
  static constexpr auto tiles13 = tile_table<S, KV, 1, true, 3>(std::make_integer_sequence<int, PM>{});
  static constexpr auto tiles2 = tile_table<S, KV, 2, true, 0>(std::make_integer_sequence<int, PM>{});
  // The one-vector tiles hold as many accumulators as the others: KV x PM outputs of a row (28 on AVX-512, 12 on
  // AVX2). With PM outputs a tile would have PM FMA chains: 6 under AVX2, fewer than the 8 that two FMA units of
  // 4 cycles' latency keep busy.
  static constexpr auto narrow1 = tile_table<S, 1, 1, false, 0>(std::make_integer_sequence<int, KV * PM>{});
  static constexpr auto narrow2 = tile_table<S, 1, 2, false, 0>(std::make_integer_sequence<int, KV * PM>{});
  for (index_t n = 0; n < s.N; ++n) {
    const float* x = a.x + n * s.C * s.H * s.W;
    float* y = a.y + n * s.K * OH * OW;
#pragma omp parallel num_threads(a.threads)
    {
      // Work items: (filter block, output row), a contiguous range per thread, so a thread's consecutive items
      // share their filter block. Ranges of equal cost, where a row of a narrow last block costs what it measured
      // against a row of KV vectors (one thread, C64-256 at 14-56): 0.52-0.56 on AVX-512, 0.68-0.75 on AVX2 (its
      // broadcasts are loads of their own). Split by count, at K = 48 one thread took the 32-filter block and the
      // other the 16: no faster than before.
      // On Zen 3 (AVX2, 512 KiB L2) 2 threads scaled poorly with the copy in planes (see below): at C128@28 one thread
      // took 1.02x oneDNN's time and two 1.41x (ours 1.44x from the second thread); a 4 MiB triad on the other core
      // slowed our one-thread layer 1.18x and not oneDNN's. Not cured by (scripts/abab, 12 pairs, 1.00-1.03x): rows in
      // bands with every block of the thread over a band (filters kept in L2), channels in chunks whose filters and
      // input rows fit half of L1. With the row-major copy the second thread gave 1.83-1.91x in the abab medians
      // below, but two-thread C64@56 still ranges 1.38-1.77 ms across the repetitions of one run (oneDNN 1.25-1.49).
      // Splitting the output rows between the threads (each copying its band, every block over each row) instead
      // of the filter blocks: 0.97-0.98x at C64@56 and C128@28 (abab, 20 pairs; same within noise), 1.14x at C512@7.
      constexpr index_t kFull = 4, kNarrow = L == 16 ? 2 : 3;
      const index_t items = nkb * OH, th = omp_get_thread_num(), nth = omp_get_num_threads();
      const index_t full = narrow ? (nkb - 1) * OH : items, cost = full * kFull + (items - full) * kNarrow;
      auto item_at = [&](index_t c) { return c <= full * kFull ? c / kFull : full + (c - full * kFull) / kNarrow; };
      const index_t i0 = item_at(cost * th / nth), i1 = item_at(cost * (th + 1) / nth);
      // Each thread copies the input into zero-padded rows of its own, the padded rows its output rows read (all
      // of them once its items span a whole filter block): no thread reads what another wrote, so no barrier, and no
      // cache line crosses between cores. One copy shared by the threads, each writing half the channels, made the
      // layer 1.1-1.3x slower whenever the host placed the two vCPUs on cores without a shared L3 (Zen 4 guest, see
      // the guard's cross-core canary).
      // The copy is row-major over channels ([row][c][column]), not in planes ([c][row][column]): a tile reads
      // filter row r of every channel, which in planes is C runs of a few cache lines a plane apart (13 KiB at
      // C64@56), a pattern the hardware prefetchers do not follow, so each output row's new input row came from L3
      // one channel at a time. Row-major, the rows a tile reads are R contiguous runs of C x Wp floats. On Zen 3
      // (scripts/abab, 16 pairs, ResNet-50's 3x3 layers C64@56 .. C512@7) the layers took 0.91-0.94x the time at
      // one thread and 0.92-0.96x at two.
      static thread_local AlignedBuffer<float> planes;
      planes.reserve_at_least(static_cast<std::size_t>(s.C * plane));
      float* xp = planes.data();
      const index_t rowstride = s.C * Wp;
      const bool all_rows = i1 - i0 >= OH || i0 / OH != (i1 - 1) / OH;
      const index_t ra = all_rows ? 0 : (i0 % OH) * s.stride;
      const index_t rb = all_rows ? Hp : std::min(Hp, ((i1 - 1) % OH) * s.stride + s.R);
      if (i1 > i0)
        for (index_t c = 0; c < s.C; ++c) {
          float* d = xp + c * Wp;
          for (index_t i = ra; i < rb; ++i) {
            float* row = d + i * rowstride;
            const index_t h = i - s.pad;
            if (h < 0 || h >= s.H) {
              std::memset(row, 0, sizeof(float) * Wp);
              continue;
            }
            std::memset(row, 0, sizeof(float) * s.pad);
            std::memcpy(row + s.pad, x + (c * s.H + h) * s.W, sizeof(float) * s.W);
            std::memset(row + s.pad + s.W, 0, sizeof(float) * s.pad);
          }
        }
      for (index_t it = i0; it < i1; ++it) {
        const index_t kb = it / OH, oh = it % OH;
        const index_t kvalid = std::min<index_t>(KB, s.K - kb * KB);
        const float* wk = wp + kb * CRS * KB;
        const bool one = narrow && kb == nkb - 1;
        const TileFn* tiles = (s.stride == 1 ? (one ? narrow1.data() : s.S == 3 ? tiles13.data() : tiles1.data())
                                             : (one ? narrow2.data() : tiles2.data()));
        const index_t pm = one ? KV * PM : PM;
        // The row in tiles of even widths: OW = 7 on AVX2 as 4 + 3 outputs (8 and 6 FMA chains) rather than
        // 6 + 1 (a 1-output tile has only KV chains and waits on FMA latency).
        const index_t ntiles = (OW + pm - 1) / pm;
        // Input row oh * stride - pad + r and column ow * stride - pad + q lie in the image where 0 <= . < H (W).
        const index_t h0 = oh * s.stride - s.pad;
        const index_t r0 = std::clamp<index_t>(-h0, 0, s.R), r1 = std::clamp<index_t>(s.H - h0, r0, s.R);
        for (index_t t = 0, ow = 0; t < ntiles; ++t) {
          const index_t P = (OW - ow) / (ntiles - t);
          const index_t qlo = std::clamp<index_t>(s.pad - ow * s.stride, 0, s.S);
          const index_t qhi = std::clamp<index_t>(s.pad + s.W - (ow + P - 1) * s.stride, 0, s.S);
          const bool columns = qlo <= qhi;  // else a tap lies in the padding on both sides (a tile wider than W)
          const Taps taps{r0, r1, columns ? qlo : 0, columns ? qhi : s.S};
          tiles[P - 1](xp + oh * s.stride * rowstride + ow * s.stride, wk, s.C, s.R, s.S, Wp, rowstride,
                       y + (kb * KB) * OH * OW + oh * OW + ow, OH * OW, kvalid, taps);
          ow += P;
        }
      }
    }
  }
}

}  // namespace pb::detail
