// Direct sparse convolution with output register tiles, for one SIMD width (instantiated per ISA in
// conv_sparse_direct_<isa>.cc). In the spirit of Park et al. (ICLR 2017) and XNNPACK's sparse kernels: the
// pruned filters stay a list of non-zeros per output channel, no im2col is built, and each non-zero is one
// broadcast multiplied into a whole tile of outputs held in registers.
//
// The tile: RT output rows x NV vectors (the full output width, OW <= NV x L) of one output channel, RT x NV
// accumulators (24 of AVX-512's 32 registers, 12 of AVX2's 16). Per non-zero (c, r, s) of that channel: one
// broadcast, then RT x NV fused multiply-adds whose second operand is read straight from the padded input at a
// compile-time displacement. That is why the input is first copied into planes with a row stride that is a
// constant of the instance: every load of the tile is [base + constant]. Two layouts (chosen per layer below): S
// copies of the padded planes, copy q shifted left by q, rows of NV x L floats, so every load is aligned (a load
// split across two cache lines costs two); or, where the copies would not fit in L2, one copy with rows of
// (NV + 1) x L floats. Lanes past OW compute values nobody stores. The tiles cover OH exactly (the last one
// overlaps the previous: its rows are recomputed, not accumulated).
//
// Locality: the input rows one tile reads, over all C channels, are far larger than L1 (C128@28: 160 KB per copy),
// so the channels are taken in chunks whose tile rows (every copy) fit in half of L1; a block of filters (their
// partial tiles in a quarter of L1) passes over each chunk, one call per block and chunk, each filter's partial
// tile loaded into registers, its few non-zeros of the chunk multiplied in, and stored back. Measured against
// one call per filter and chunk with the partial bounced through the stack (scripts-style alternation, 2 threads,
// 90%): 1.27x at C128@28, 1.19x at C64@56, 1.04-1.08x at C256@14 and C512@7. Filters are split between threads
// by their non-zero counts, or threads take whole tiles (below). Stride > 1, or rows wider than kNvMax vectors:
// the scalar output-stationary loop at the end.
//
// Where it stands (Xeon Emerald Rapids, AVX-512, one core): the tile loop alone, its input in L1, runs 2.2 zmm FMAs
// per ns (20 FMA-with-load per non-zero in 9.1 ns) against oneDNN's dense 4.9; the same loop reading its 20 vectors
// from two lines runs 5.5. So the bound is one new cache line per FMA (L1 delivers ~0.8 lines per cycle here): at
// 90% each input line is used by ~13 of 128 filters, but never twice in a row by one. On C128@28 at 90% the whole kernel reaches 1.4 FMA/ns: L2 misses cost ~18% (with every load forced into
// L1: 512 instead of 622 us), the copy, the partial tiles and the tile overlap the rest. Input-stationary column
// tiles (each input tile loaded once for every filter that uses it, partials in L1) were tried: 1.2-2.8x slower.
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prunebench/conv.h"
#include "prunebench/cpu.h"
#include "prunebench/spmm.h"

namespace pb::detail {

namespace conv_direct {

// Per set of weights and geometry: the non-zeros of each filter in channel order with their offsets into the
// padded input, and where each chunk of channels starts in them (cptr[k * (chunks + 1) + j]).
struct Prepared {
  std::vector<std::int32_t> off;
  std::vector<float> val;
  std::vector<index_t> cptr;
  index_t chunks = 1;
};

// One tile for a block of filters over one chunk of channels: for each filter with non-zeros in the chunk, its
// partial tile (RT x NV vectors in `parts`, nk of them, zeroed before the first chunk) is loaded into registers,
// the chunk's non-zeros are multiplied in, and it is stored back. One call per block and chunk, so the few
// non-zeros a filter has in a chunk at 90% (5-15) do not each pay for a call.
template <class S, int NV, int RT, int X>
void tile(const float* x0, const float* vals, const std::int32_t* offs, const index_t* cptr, index_t cstride, index_t nk,
          float* parts) {
  constexpr int L = S::L, LS = NV * L + X, TS = RT * NV * L;
  for (index_t kk = 0; kk < nk; ++kk) {
    const index_t p0 = cptr[kk * cstride], p1 = cptr[kk * cstride + 1];
    if (p0 == p1) continue;
    float* part = parts + kk * TS;
    typename S::V acc[RT][NV];
    for (int i = 0; i < RT; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = S::loadu(part + (i * NV + v) * L);
    for (index_t p = p0; p < p1; ++p) {
      const typename S::V w = S::set1(vals[p]);
      const float* x = x0 + offs[p];
#pragma GCC unroll 32
      for (int i = 0; i < RT; ++i)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[i][v] = S::fmadd(w, S::loadu(x + i * LS + v * L), acc[i][v]);
    }
    for (int i = 0; i < RT; ++i)
      for (int v = 0; v < NV; ++v) S::storeu(part + (i * NV + v) * L, acc[i][v]);
  }
}

using TileFn = void (*)(const float*, const float*, const std::int32_t*, const index_t*, index_t, index_t, float*);

constexpr int kNvMax = 8;
template <class S>
constexpr int acc_regs() { return S::L == 16 ? 24 : 12; }
template <class S>
constexpr int rt_max(int nv) { return std::max(1, acc_regs<S>() / nv); }
template <class S, int NV, int X, int... RT>
constexpr std::array<TileFn, sizeof...(RT)> tiles_for(std::integer_sequence<int, RT...>) {
  return {&tile<S, NV, RT + 1, X>...};
}

template <class S, int X>
TileFn pick_x(int nv, int rt) {
  auto get = [&](auto nvc) -> TileFn {
    constexpr int N = decltype(nvc)::value;
    static constexpr auto table = tiles_for<S, N, X>(std::make_integer_sequence<int, rt_max<S>(N)>{});
    return table[rt - 1];
  };
  switch (nv) {
    case 1: return get(std::integral_constant<int, 1>{});
    case 2: return get(std::integral_constant<int, 2>{});
    case 3: return get(std::integral_constant<int, 3>{});
    case 4: return get(std::integral_constant<int, 4>{});
    case 5: return get(std::integral_constant<int, 5>{});
    case 6: return get(std::integral_constant<int, 6>{});
    case 7: return get(std::integral_constant<int, 7>{});
    default: return get(std::integral_constant<int, 8>{});
  }
}

// The instance for NV vectors per row, RT rows (1 <= RT <= rt_max(NV)) and rows of NV x L + X floats.
template <class S>
TileFn pick(int nv, int rt, bool shifted_copies) {
  return shifted_copies ? pick_x<S, 0>(nv, rt) : pick_x<S, S::L>(nv, rt);
}

inline float* padded_scratch(std::size_t n) {
  static AlignedBuffer<float> buf;  // filled inside the parallel region by every thread, so not thread_local
  buf.reserve_at_least(n);
  return buf.data();
}

// Strided convolutions and rows too wide for the tiles: output-stationary, scalar, same padded input.
inline void scalar_rows(const ConvShape& s, const float* xp, index_t LS, const Prepared& pr, index_t k, float* yk) {
  const index_t p0 = pr.cptr[k * (pr.chunks + 1)], p1 = pr.cptr[k * (pr.chunks + 1) + pr.chunks];
  for (index_t oh = 0; oh < s.OH(); ++oh)
    for (index_t ow = 0; ow < s.OW(); ++ow) {
      float acc = 0.0f;
      for (index_t p = p0; p < p1; ++p) acc += pr.val[p] * xp[pr.off[p] + oh * s.stride * LS + ow * s.stride];
      yk[oh * s.OW() + ow] = acc;
    }
}

}  // namespace conv_direct

template <class S>
void conv_sparse_direct(const ConvArgs& a) {
  using namespace conv_direct;
  constexpr int L = S::L;
  const ConvShape& s = a.s;
  // A 1x1 convolution without padding or stride is a product with the input itself, which the SpMM kernels do
  // without copying anything (C256@56 to K64 at 90%: 177 us through the SpMM, 914 us through padded planes).
  if (s.R == 1 && s.S == 1 && s.stride == 1 && s.pad == 0) return conv_openmp_sparse_im2col(a);
  const Csr& w = a.wsp->csr;
  const index_t OH = s.OH(), OW = s.OW(), Hp = s.H + 2 * s.pad, Wp = s.W + 2 * s.pad;
  const int nv = int((OW + L - 1) / L);
  // Tiles need stride 1 and at most kNvMax vectors per row. Their input, where the S copies fit in half of L2: one
  // copy of the padded planes per filter column q, shifted left by q, rows of nv x L floats, so that every load of
  // a tile is aligned; otherwise one copy with rows of (nv + 1) x L floats (aligned rows, loads shifted by q).
  // Measured (scripts/abab, 1 thread, 10 pairs, 90%): copies 1.26x faster at C256@14 and 1.28x at C512@7 (786 and
  // 884 KB), 1.16x slower at C64@56 (2.9 MB: past L2), the same at C128@28 (1.5 MB).
  const index_t l2 = std::max<std::int64_t>(cpu::cache_bytes(2), 256 << 10);
  const bool copy_fits = index_t(sizeof(float)) * s.S * s.C * Hp * nv * L <= l2 / 2;
  const bool tiled = s.stride == 1 && nv <= kNvMax && OH > 0 && (copy_fits || s.S - 1 <= L);
  const bool shifted = tiled && (copy_fits || s.S - 1 > L);
  const index_t LS = !tiled ? Wp : shifted ? index_t(nv) * L : index_t(nv + 1) * L, copies = shifted ? s.S : 1;
  // Rows per tile: as many as the registers allow, evened out so the tiles cover OH with the least overlap.
  const int rtmax = rt_max<S>(nv);
  // Threads take whole tiles (each then reads only its rows of the input) where a multiple of the thread count
  // of tiles still keeps half the accumulators busy; otherwise they split the filters. Measured (2 threads, 90%,
  // 3 alternating runs): tiles 1.14x faster at C64@56 and C128@28, 0.97x at C256@14 and 0.87x at C512@7 (7-row
  // and 4-row tiles there), hence the rule.
  const index_t T = a.threads;
  index_t ntiles = tiled ? (OH + rtmax - 1) / rtmax : 0;
  const index_t ntiles_t = (ntiles + T - 1) / T * T;
  const bool by_tiles = tiled && T > 1 && OH >= ntiles_t && (OH + ntiles_t - 1) / ntiles_t * nv >= acc_regs<S>() / 2;
  if (by_tiles) ntiles = ntiles_t;
  const int rt = tiled ? int((OH + ntiles - 1) / ntiles) : 0;
  // Channels per chunk: the tile's input rows of the chunk (every copy) in half of L1. Sweeps of this budget (1/4
  // to 1 L1) and of the filter block below (1/8 to 1/2 L1) at C64@56, C128@28 and C256@14, 90%, 2 threads, moved
  // the times by less than the run-to-run spread (~15%); half and a quarter of L1 are kept.
  const index_t l1 = std::max<std::int64_t>(cpu::cache_bytes(1), 32 << 10);
  const index_t chunk_c =
      tiled ? std::max<index_t>(1, (l1 / 2) / (index_t(sizeof(float)) * copies * (rt + s.R - 1) * LS)) : s.C;
  const std::string key = "conv_direct/" + std::to_string(L) + "/" + std::to_string(Hp) + "x" + std::to_string(LS) + "/" +
                          std::to_string(s.R) + "x" + std::to_string(s.S) + "/" + std::to_string(chunk_c) + (shifted ? "/shifted" : tiled ? "/tiled" : "");
  if (a.wsp->prepared.key != key) {  // once per set of weights and geometry
    const auto t0 = std::chrono::steady_clock::now();
    auto pr = std::make_shared<Prepared>();
    const index_t RS = s.R * s.S;
    pr->chunks = (s.C + chunk_c - 1) / chunk_c;
    pr->off.reserve(static_cast<std::size_t>(w.nnz()));
    pr->val.reserve(static_cast<std::size_t>(w.nnz()));
    pr->cptr.assign(static_cast<std::size_t>(s.K * (pr->chunks + 1)), 0);
    std::vector<std::pair<index_t, index_t>> order;  // (column, position): channel order within each filter
    for (index_t k = 0; k < s.K; ++k) {
      order.clear();
      for (index_t p = w.rowptr[k]; p < w.rowptr[k + 1]; ++p) order.push_back({w.colidx[p], p});
      std::sort(order.begin(), order.end());
      index_t* cp = pr->cptr.data() + k * (pr->chunks + 1);
      std::size_t q = 0;
      for (index_t j = 0; j <= pr->chunks; ++j) {
        while (q < order.size() && order[q].first / RS < j * chunk_c) {
          const index_t col = order[q].first, c = col / RS, r = (col / s.S) % s.R, t = col % s.S;
          pr->off.push_back(static_cast<std::int32_t>(shifted ? ((t * s.C + c) * Hp + r) * LS : (c * Hp + r) * LS + t));
          pr->val.push_back(w.values[order[q].second]);
          ++q;
        }
        cp[j] = static_cast<index_t>(pr->off.size());
      }
      // Every non-zero is in some chunk: after the loop cp[chunks] holds them all (channels < chunks x chunk_c).
    }
    a.wsp->prepared.handle = pr;
    a.wsp->prepared.key = key;
    a.wsp->prepared.setup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const Prepared& pr = *static_cast<const Prepared*>(a.wsp->prepared.handle.get());
  const TileFn fn = tiled ? pick<S>(nv, rt, shifted) : nullptr;
  // Filters split by their non-zero counts (static, so a filter's partial tile stays with its thread).
  std::vector<std::int32_t> per(static_cast<std::size_t>(s.K + 1), 0);
  for (index_t k = 0; k < s.K; ++k)
    per[k + 1] = per[k] + std::int32_t(pr.cptr[k * (pr.chunks + 1) + pr.chunks] - pr.cptr[k * (pr.chunks + 1)]);
  const std::vector<index_t> bounds = balance_rows(per, a.threads);
  // One spare row of vectors at the end: the last plane's last rows read up to a vector past them.
  float* xp = padded_scratch(static_cast<std::size_t>(copies * s.C * Hp * LS + 2 * LS + L));
  const index_t tile_floats = index_t(rt) * nv * L;
  // Filters per pass over the chunks: their partial tiles in a quarter of L1, so that passing them through L1 does
  // not evict the chunk's input rows the next filter reads.
  const index_t block_k = std::max<index_t>(1, (l1 / 4) / (index_t(sizeof(float)) * std::max<index_t>(1, tile_floats)));
  for (index_t n = 0; n < s.N; ++n) {
    const float* xn = a.x + n * s.C * s.H * s.W;
#pragma omp parallel num_threads(a.threads)
    {
#pragma omp for schedule(static)
      for (index_t qc = 0; qc < copies * s.C; ++qc) {  // copy q of channel c: padded column q + w at w
        const index_t q = qc / s.C, c = qc % s.C;
        float* plane = xp + qc * Hp * LS;
        std::memset(plane, 0, sizeof(float) * Hp * LS);
        const index_t skip = std::max<index_t>(0, q - s.pad), at = std::max<index_t>(0, s.pad - q);
        const index_t n_cols = std::min<index_t>(s.W - skip, LS - at);
        if (n_cols > 0)
          for (index_t h = 0; h < s.H; ++h)
            std::memcpy(plane + (h + s.pad) * LS + at, xn + (c * s.H + h) * s.W + skip, sizeof(float) * n_cols);
      }
#pragma omp single
      std::memset(xp + copies * s.C * Hp * LS, 0, sizeof(float) * (2 * LS + L));
      // (the implicit barrier of `single` orders the copy before any tile reads it)
      const int th = omp_get_thread_num();
      const index_t k0 = by_tiles ? 0 : bounds[th], k1 = by_tiles ? s.K : bounds[th + 1];
      const index_t t0 = by_tiles ? ntiles * th / T : 0, t1 = by_tiles ? ntiles * (th + 1) / T : ntiles;
      if (!fn) {
        for (index_t k = k0; k < k1; ++k) scalar_rows(s, xp, LS, pr, k, a.y + (n * s.K + k) * OH * OW);
      } else {
        static thread_local AlignedBuffer<float> parts;
        parts.reserve_at_least(static_cast<std::size_t>(std::max<index_t>(1, block_k * tile_floats)));
        const index_t cs = pr.chunks + 1;
        for (index_t t = t0; t < t1; ++t) {
          const index_t oh0 = std::min<index_t>(t * rt, OH - rt);  // the last tile overlaps, never passes OH
          const float* x0 = xp + oh0 * LS;
          for (index_t kb = k0; kb < k1; kb += block_k) {
            const index_t nk = std::min(k1, kb + block_k) - kb;
            std::memset(parts.data(), 0, sizeof(float) * nk * tile_floats);
            for (index_t j = 0; j < pr.chunks; ++j)
              fn(x0, pr.val.data(), pr.off.data(), pr.cptr.data() + kb * cs + j, cs, nk, parts.data());
            for (index_t kk = 0; kk < nk; ++kk)  // finished: the tile's rows out (the last vector of a row is partial)
              for (index_t i = 0; i < rt; ++i)
                std::memcpy(a.y + ((n * s.K + kb + kk) * OH + oh0 + i) * OW, parts.data() + (kk * rt + i) * nv * L,
                            sizeof(float) * OW);
          }
        }
      }
    }
  }
}

}  // namespace pb::detail
