// Direct sparse convolution with output register tiles, for one SIMD width (instantiated per ISA in
// conv_sparse_direct_<isa>.cc). In the spirit of Park et al. (ICLR 2017) and XNNPACK's sparse kernels: the
// pruned filters stay a list of non-zeros per output channel, no im2col is built, and each non-zero is one
// broadcast multiplied into a whole tile of outputs held in registers.
//
// Flat planes: the input is copied into padded planes whose rows lie LS >= W + pad floats apart, the pad zeros
// after one row serving as the left pad of the next. Output (oh, ow) is then position oh LS + ow of a flat output
// plane, and tap (r, q) of the filter reads the same flat range of the input shifted by r LS + q. A tile is any V
// vectors of that plane (up to 24 accumulators), whatever the image width: only the LS - OW pad lanes per row are
// computed for nothing (ResNet's 28x28: 3% with LS = 29, where tiles of whole rows, 2 x 16 lanes for 28, lost 12%).
// The last tile overlaps the one before it (recomputed, not accumulated).
//
// Aligned or not: with LS = W + pad nearly every load straddles two cache lines, and such a load costs two L1 reads
// (the tile loop from L1: 2.1 FMAs per ns unaligned, 4.3 aligned, Emerald Rapids). So where it pays (choose_layout)
// LS is rounded up to whole vectors and the non-zeros of each filter column q go to their own accumulator set,
// z_q[i] = sum_r w(r, q) x[i + r LS], every load aligned; y[i] = sum_q z_q[i + q] is added up once per finished
// tile (tile_columns, combine). Three sets of 9, 10 and 10 vectors: 29 accumulators and the broadcast in the 32
// registers. Shifted copies of the input, one per q, would align the loads too, but they triple what a chunk
// (below) must hold: at C128@28 1.3x slower than even the unaligned single copy.
//
// Locality: the input rows one tile reads, over all C channels, are far larger than L1, so the channels are taken
// in chunks whose input for the tile fits in half of L1 (all of it for column-set tiles, see chunk_bytes); a block of
// filters (their partial tiles in a quarter of L1) passes over each chunk, one call per block and chunk, each
// filter's partial tile loaded into registers (zeros on the first chunk), its non-zeros of the chunk multiplied in,
// and stored back. On Emerald Rapids (48 KiB L1) sweeps of both budgets (L1 / 8 to L1) moved the times less than the
// run-to-run spread. Filters are split between threads by their non-zero counts, or threads take whole tiles (below);
// dynamic scheduling of (tile, filter block) pairs was 1.08-1.2x slower (each thread's input leaves its L2). Stride
// > 1: the scalar output-stationary loop at the end.
//
// Where it stands (Emerald Rapids, AVX-512, 2 threads, 90%, C128@28): the tile loop 60% of the time at 2.4 zmm
// FMAs per ns per core (oneDNN's dense: 5.4), the input copy and output rows 8%, threads waiting at the barriers
// 8%, partial-tile and call overheads the rest. Input-stationary tiles (each input tile loaded once for every filter
// that uses it, partials in L1) were tried: 1.2-2.8x slower.
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

// Per set of weights and geometry: the non-zeros of each filter with their offsets into the padded input, ordered
// by chunk of channels, then by column set (below), then channel; seg[(k * chunks + j) * sets + q] is where filter
// k's non-zeros of chunk j and set q start (one entry more at the end).
struct Prepared {
  std::vector<std::int32_t> off;
  std::vector<float> val;
  std::vector<index_t> seg;
  index_t chunks = 1, sets = 1;
};

// Unaligned tiles: V output vectors (V x L consecutive positions of the flattened output plane) for a block of nk
// filters over one chunk of channels. For each filter with non-zeros in the chunk, its partial tile (V vectors in
// `parts`, zeroed before the first chunk) is loaded into registers, the chunk's non-zeros are multiplied in, and
// it is stored back. G accumulator sets take alternate non-zeros where V alone would leave the FMA units waiting
// on their latency (4 cycles, 2 units: 8 independent sums needed).
template <class S, int V, int G>
void tile(const float* x0, const float* vals, const std::int32_t* offs, const index_t* seg, index_t sstride, index_t nk,
          float* parts, bool first) {
  constexpr int L = S::L;
  for (index_t kk = 0; kk < nk; ++kk) {
    const index_t p0 = seg[kk * sstride], p1 = seg[kk * sstride + 1];
    if (p0 == p1 && !first) continue;
    float* part = parts + kk * V * L;
    typename S::V acc[G][V];
    for (int v = 0; v < V; ++v) acc[0][v] = first ? S::zero() : S::loadu(part + v * L);
    for (int g = 1; g < G; ++g)
      for (int v = 0; v < V; ++v) acc[g][v] = S::zero();
    index_t p = p0;
    for (; p + G <= p1; p += G)
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const typename S::V w = S::set1(vals[p + g]);
        const float* x = x0 + offs[p + g];
#pragma GCC unroll 32
        for (int v = 0; v < V; ++v) acc[g][v] = S::fmadd(w, S::loadu(x + v * L), acc[g][v]);
      }
    for (; p < p1; ++p) {
      const typename S::V w = S::set1(vals[p]);
      const float* x = x0 + offs[p];
#pragma GCC unroll 32
      for (int v = 0; v < V; ++v) acc[0][v] = S::fmadd(w, S::loadu(x + v * L), acc[0][v]);
    }
    for (int g = 1; g < G; ++g)
      for (int v = 0; v < V; ++v) acc[0][v] = S::add(acc[0][v], acc[g][v]);
    for (int v = 0; v < V; ++v) S::storeu(part + v * L, acc[0][v]);
  }
}

// Aligned tiles, one accumulator set per residue rho_q of the taps' shifts r LS + s modulo L (with LS a multiple of
// L: one per filter column, rho_q = q). Set q sums its taps over the input shifted only by the aligned part of the
// shift, z_q[i] = sum w(r, s) x[i + r LS + s - rho_q], so every load is aligned; the output is y[i] = sum_q
// z_q[i + rho_q], added up once per tile when all chunks are in (`combine`). Sets q >= 1 hold one vector more (the
// rho_q positions past the tile). A filter's partial tile is the NQ sets, V + (NQ - 1)(V + 1) vectors.
template <class S, int V, int NQ>
void tile_columns(const float* x0, const float* vals, const std::int32_t* offs, const index_t* seg, index_t sstride,
                  index_t nk, float* parts, bool first) {
  constexpr int L = S::L, W = V + 1, TS = (V + (NQ - 1) * W) * L;
  for (index_t kk = 0; kk < nk; ++kk) {
    const index_t* sg = seg + kk * sstride;
    if (sg[0] == sg[NQ] && !first) continue;
    float* part = parts + kk * TS;
    typename S::V acc[NQ][W];
#pragma GCC unroll 8
    for (int q = 0; q < NQ; ++q) {
      const int n = q ? W : V;
      float* pq = part + (q ? V + (q - 1) * W : 0) * L;
#pragma GCC unroll 32
      for (int v = 0; v < n; ++v) acc[q][v] = first ? S::zero() : S::loadu(pq + v * L);
    }
#pragma GCC unroll 8
    for (int q = 0; q < NQ; ++q) {
      const int n = q ? W : V;
      for (index_t p = sg[q]; p < sg[q + 1]; ++p) {
        const typename S::V w = S::set1(vals[p]);
        const float* x = x0 + offs[p];
#pragma GCC unroll 32
        for (int v = 0; v < n; ++v) acc[q][v] = S::fmadd(w, S::loadu(x + v * L), acc[q][v]);
      }
    }
#pragma GCC unroll 8
    for (int q = 0; q < NQ; ++q) {
      const int n = q ? W : V;
      float* pq = part + (q ? V + (q - 1) * W : 0) * L;
#pragma GCC unroll 32
      for (int v = 0; v < n; ++v) S::storeu(pq + v * L, acc[q][v]);
    }
  }
}

// A finished tile of column sets: y[i] = z_0[i] + z_1[i + rho_1] + ... (set 0's residue is 0), into set 0's place.
template <class S>
void combine(float* part, int V, int NQ, const int* residue) {
  constexpr int L = S::L;
  for (int v = 0; v < V; ++v) {
    typename S::V y = S::loadu(part + v * L);
    for (int q = 1; q < NQ; ++q) y = S::add(y, S::loadu(part + (V + (q - 1) * (V + 1) + v) * L + residue[q]));
    S::storeu(part + v * L, y);
  }
}

// The same, straight into the output rows, where LS is a multiple of L: then every vector of the tile lies in one
// row, and a masked store leaves out the pad columns.
template <class S>
void combine_out(const float* part, int V, int NQ, const int* residue, index_t f0, index_t LS, index_t OH, index_t OW,
                 float* yk) {
  constexpr int L = S::L;
  for (int v = 0; v < V; ++v) {
    const index_t at = f0 + index_t(v) * L, oh = at / LS, ow = at % LS;
    if (oh >= OH || ow >= OW) continue;
    typename S::V y = S::loadu(part + v * L);
    for (int q = 1; q < NQ; ++q) y = S::add(y, S::loadu(part + (V + (q - 1) * (V + 1) + v) * L + residue[q]));
    S::storeu_mask(yk + oh * OW + ow, y, S::first_mask(int(std::min<index_t>(L, OW - ow))));
  }
}

// (x0, values, offsets, segments, segments per filter, filters, partial tiles, first chunk: start from zero)
using TileFn = void (*)(const float*, const float*, const std::int32_t*, const index_t*, index_t, index_t, float*,
                        bool);

template <class S>
constexpr int acc_regs() { return S::L == 16 ? 24 : 12; }
// Vectors per tile: unaligned tiles use 24 (AVX-512) or 12 accumulators; sets need V + (NQ - 1)(V + 1) of
// them, up to 30 on AVX-512 (with the broadcast, 31 of the 32 registers).
template <class S>
constexpr int v_max(int nq) { return nq == 1 ? acc_regs<S>() : ((S::L == 16 ? 30 : 12) - (nq - 1)) / nq; }
template <class S>
constexpr int sets_for(int v) { return std::max(1, std::min((8 + v - 1) / v, acc_regs<S>() / v)); }
template <class S, int... V>
constexpr std::array<TileFn, sizeof...(V)> flat_tiles(std::integer_sequence<int, V...>) {
  return {&tile<S, V + 1, sets_for<S>(V + 1)>...};
}
template <class S, int NQ, int... V>
constexpr std::array<TileFn, sizeof...(V)> column_tiles(std::integer_sequence<int, V...>) {
  return {&tile_columns<S, V + 1, NQ>...};
}

// The instance for V vectors (1 <= V <= v_max(nq)) and nq accumulator sets (1: unaligned tiles; 2 or 3).
template <class S>
TileFn pick(int v, int nq) {
  static constexpr auto t1 = flat_tiles<S>(std::make_integer_sequence<int, v_max<S>(1)>{});
  static constexpr auto t2 = column_tiles<S, 2>(std::make_integer_sequence<int, v_max<S>(2)>{});
  static constexpr auto t3 = column_tiles<S, 3>(std::make_integer_sequence<int, v_max<S>(3)>{});
  return nq == 1 ? t1[v - 1] : nq == 2 ? t2[v - 1] : t3[v - 1];
}

// At most 3 sets: with more, each set's run of a chunk's non-zeros is a few FMAs into 4-6 accumulators, waiting
// on their latency (6 sets at C512@7, rows 8 floats apart: 1.48x slower than unaligned tiles, scripts/abab).
constexpr int kMaxSets = 3;

// How the padded planes are laid out and which accumulator sets the tiles keep.
struct Layout {
  index_t LS;                             // floats from one padded row to the next
  std::array<int, kMaxSets> residue{};    // per set, the shift modulo L of its taps (set 0: 0)
  int sets = 1;                           // 1: unaligned tiles
  int set_of(index_t shift) const {
    if (sets == 1) return 0;
    const int rho = int(shift % residue_mod);
    for (int q = 0; q < sets; ++q)
      if (residue[q] == rho) return q;
    return 0;  // not reached: every tap's residue is in the list
  }
  int residue_mod = 1;
};

// Candidates: LS rounded up to L, L/2, L/4 floats (the narrower, the fewer pad lanes but the more residues). The
// cost of each, in vector FMAs per non-zero for the whole plane: its vectors times (V + 1) / V for the extra vector
// of the sets past the first; unaligned tiles count 1.35 times, the in-kernel ratio of the two tiles' FMA rates
// at C128@28, 90% (1.8 and 2.4 FMAs per ns per core, Emerald Rapids; from L1 alone the loop runs 2.1 unaligned
// and 4.3 aligned: a load split across two cache lines costs two L1 reads). With a factor of 2, C512@7 took
// 16-float rows for its 7 columns and ran 1.64x slower (scripts/abab, 10 pairs).
template <class S>
Layout choose_layout(const ConvShape& s) {
  constexpr int L = S::L;
  const index_t LS_min = std::max(s.W + s.pad, s.OW()), OH = s.OH(), OW = s.OW();
  auto vectors = [&](index_t LS) { return ((OH - 1) * LS + OW + L - 1) / L; };
  Layout best{LS_min, {0}, 1};
  double best_cost = 1.35 * double(vectors(LS_min));
  if (L != 16) return best;
  for (int g : {L, L / 2, L / 4}) {
    Layout c{(LS_min + g - 1) / g * g, {0}, 1};
    c.residue_mod = L;
    for (index_t r = 0; r < s.R && c.sets <= kMaxSets; ++r)
      for (index_t q = 0; q < s.S && c.sets <= kMaxSets; ++q) {
        const int rho = int((r * c.LS + q) % L);
        if (std::find(c.residue.begin(), c.residue.begin() + std::min(c.sets, kMaxSets), rho) ==
            c.residue.begin() + std::min(c.sets, kMaxSets)) {
          if (c.sets < kMaxSets) c.residue[c.sets] = rho;
          ++c.sets;
        }
      }
    if (c.sets > kMaxSets || c.sets == 1) continue;
    const int v = v_max<S>(c.sets);
    const double cost = double(vectors(c.LS)) * (v + 1.0) / v;
    if (cost < best_cost) best = c, best_cost = cost;
  }
  return best;
}

// Strided convolutions: output-stationary, scalar, on the same padded planes.
inline void scalar_rows(const ConvShape& s, const float* xp, index_t LS, const Prepared& pr, index_t k, float* yk) {
  const index_t p0 = pr.seg[k * pr.chunks * pr.sets], p1 = pr.seg[(k + 1) * pr.chunks * pr.sets];
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
  const index_t OH = s.OH(), OW = s.OW(), Hp = s.H + 2 * s.pad;
  const bool tiled = s.stride == 1 && OH > 0 && OW > 0;
  // The padded planes, flattened: rows lie LS >= W + pad floats apart, so the pad zeros after a row are also the
  // left pad of the next one, and output (oh, ow) is position oh LS + ow of a flat output plane whose tap (r, q)
  // reads the same flat range of the input shifted by r LS + q. A tile is any V vectors of that plane, whatever
  // the image width; only the pad columns (ow >= OW) are computed for nothing.
  // Aligned tiles (tile_columns) where the taps' shifts r LS + q fall on few residues modulo L and rounding LS
  // up to make them few wastes little; unaligned tiles (LS = W + pad) otherwise.
  const Layout lay = tiled ? choose_layout<S>(s) : Layout{s.W + 2 * s.pad, {0}, 1};
  const int NQ = lay.sets;
  const bool columns = NQ > 1;
  const index_t LS = lay.LS;
  const index_t F = tiled ? (OH - 1) * LS + OW : 0, nvec = (F + L - 1) / L;
  // Threads take whole tiles (each then reads only its part of the input) where a multiple of the thread count
  // of tiles still keeps half the accumulators busy; otherwise they split the filters.
  const index_t T = a.threads, vmax = columns ? v_max<S>(NQ) : v_max<S>(1);
  index_t ntiles = tiled ? (nvec + vmax - 1) / vmax : 0;
  const index_t ntiles_t = (ntiles + T - 1) / T * T;
  const bool by_tiles = tiled && T > 1 && nvec >= ntiles_t && (nvec + ntiles_t - 1) / ntiles_t >= (vmax + 1) / 2;
  if (by_tiles) ntiles = ntiles_t;
  const int V = tiled ? int((nvec + ntiles - 1) / ntiles) : 0;
  // A plane: the padded rows, then zeros for the last tile's reads past them.
  const index_t PS = (Hp * LS + 2 * L + s.S + L - 1) / L * L;
  // Channels per chunk: the input a tile reads from each in half of L1; in all of it for column-set tiles, whose
  // partial tiles (up to 30 vectors per filter, loaded and stored once per chunk) cost more than the input lines that
  // then come from L2. Measured on Zen 4 (AVX-512, 32 KiB L1, 2 threads, 10 interleaved rounds), time against half of
  // L1: 0.86 / 0.95 / 0.95x at C64@56 / C128@28 / C256@14, 90%, 0.96-0.99x at 50%; twice L1 lost at 50% (1.09-1.22x).
  // Unaligned tiles keep half: C512@7 0.96-1.02x, and under PB_MAX_ISA=avx2 every layer 1.00-1.13x.
  const index_t l1 = std::max<std::int64_t>(cpu::cache_bytes(1), 32 << 10);
  const index_t chunk_bytes = columns ? l1 : l1 / 2;
  const index_t chunk_c =
      tiled ? std::max<index_t>(
                  1, chunk_bytes / (index_t(sizeof(float)) * (index_t(V + (NQ > 1)) * L + (s.R - 1) * LS + s.S)))
            : s.C;
  const std::string key = "conv_flat/" + std::to_string(L) + "/" + std::to_string(PS) + "/" + std::to_string(LS) + "/" +
                          std::to_string(NQ) + "/" + std::to_string(s.R) + "x" + std::to_string(s.S) + "/" +
                          std::to_string(chunk_c);
  // Once per set of weights and geometry:
  const Prepared& pr = *static_cast<const Prepared*>(a.wsp->prepared.get(key, [&] {
    auto made = std::make_shared<Prepared>();
    const index_t RS = s.R * s.S;
    made->chunks = (s.C + chunk_c - 1) / chunk_c;
    made->sets = NQ;
    made->off.reserve(static_cast<std::size_t>(w.nnz()));
    made->val.reserve(static_cast<std::size_t>(w.nnz()));
    made->seg.assign(static_cast<std::size_t>(s.K * made->chunks * NQ + 1), 0);
    // (segment, column, position): each filter's non-zeros in segment order, channel order within one
    std::vector<std::array<index_t, 3>> order;
    for (index_t k = 0; k < s.K; ++k) {
      order.clear();
      for (index_t p = w.rowptr[k]; p < w.rowptr[k + 1]; ++p) {
        const index_t col = w.colidx[p], c = col / RS, r = (col / s.S) % s.R, q = col % s.S;
        order.push_back({(k * made->chunks + c / chunk_c) * NQ + lay.set_of(r * LS + q), col, p});
      }
      std::sort(order.begin(), order.end());
      std::size_t i = 0;
      for (index_t e = k * made->chunks * NQ; e < (k + 1) * made->chunks * NQ; ++e) {
        made->seg[e] = static_cast<index_t>(made->off.size());
        for (; i < order.size() && order[i][0] == e; ++i) {
          const index_t col = order[i][1], c = col / RS, r = (col / s.S) % s.R, q = col % s.S;
          const index_t shift = r * LS + q;  // aligned tiles: the residue is the set's, not the load's
          made->off.push_back(static_cast<std::int32_t>(c * PS + shift - lay.residue[lay.set_of(shift)]));
          made->val.push_back(w.values[order[i][2]]);
        }
      }
    }
    made->seg.back() = static_cast<index_t>(made->off.size());
    return made;
  }));
  const TileFn fn = tiled ? pick<S>(V, NQ) : nullptr;
  // Filters split by their non-zero counts (static, so a filter's partial tile stays with its thread).
  const index_t per_filter = pr.chunks * pr.sets;
  std::vector<std::int32_t> per(static_cast<std::size_t>(s.K + 1), 0);
  for (index_t k = 0; k < s.K; ++k)
    per[k + 1] = per[k] + std::int32_t(pr.seg[(k + 1) * per_filter] - pr.seg[k * per_filter]);
  const std::vector<index_t> bounds = balance_rows(per, a.threads);
  const index_t tile_floats = (index_t(V) + (NQ - 1) * index_t(V + 1)) * L;
  // Filters per pass over the chunks: their partial tiles in a quarter of L1, so that passing them through L1 does
  // not evict the chunk's input the next filter reads.
  const index_t block_k = std::max<index_t>(1, (l1 / 4) / (index_t(sizeof(float)) * std::max<index_t>(1, tile_floats)));
  for (index_t n = 0; n < s.N; ++n) {
    const float* xn = a.x + n * s.C * s.H * s.W;
#pragma omp parallel num_threads(a.threads)
    {
      const int th = omp_get_thread_num();
      const index_t k0 = by_tiles ? 0 : bounds[th], k1 = by_tiles ? s.K : bounds[th + 1];
      const index_t t0 = by_tiles ? ntiles * th / T : 0, t1 = by_tiles ? ntiles * (th + 1) / T : ntiles;
      // Each thread copies the input into padded planes of its own, only the padded rows its tiles read where threads
      // take tiles (all of them where they split the filters): no thread reads what another wrote, so no barrier, and
      // no cache line crosses between cores. One copy shared by the threads (each writing half the channels) made the
      // layer 1.1-1.4x slower whenever the host placed the two vCPUs on cores without a shared L3 (Zen 4 guest, see the
      // guard's cross-core canary), where every line one thread reads of the other's half crosses between L3s.
      // Input (h, w) at (h + pad) LS + w + pad, zeros around. The rows' range is zeroed, then the rows copied in:
      // zeroing only the pads, row by row beside each copy, took 1.08x / 1.17x the time at C128@28 / C256@14 (abab,
      // 40 pairs, Zen 4).
      static thread_local AlignedBuffer<float> planes;
      planes.reserve_at_least(static_cast<std::size_t>(s.C * PS));
      float* xp = planes.data();
      index_t ra = 0, rb = Hp;  // the padded rows to fill, and whether the zeros past them are read too
      bool tail = true;
      if (by_tiles) {
        // From the first tile's first position to past the last tile's last read: V + 1 vectors (column sets) at its
        // largest shift, with a vector to spare.
        const index_t lo = std::min(t0 * index_t(V), nvec - V) * L;
        const index_t hi = std::min((t1 - 1) * index_t(V), nvec - V) * L + index_t(V + 2) * L + (s.R - 1) * LS + s.S;
        ra = std::min(Hp, lo / LS);
        rb = std::min(Hp, (hi + LS - 1) / LS);
        tail = hi > Hp * LS;
      }
      if (t1 > t0 || !by_tiles)
        for (index_t c = 0; c < s.C; ++c) {
          float* plane = xp + c * PS;
          std::memset(plane + ra * LS, 0, sizeof(float) * (rb - ra) * LS);
          if (tail) std::memset(plane + Hp * LS, 0, sizeof(float) * (PS - Hp * LS));
          for (index_t h = std::max<index_t>(0, ra - s.pad); h < std::min(s.H, rb - s.pad); ++h)
            std::memcpy(plane + (h + s.pad) * LS + s.pad, xn + (c * s.H + h) * s.W, sizeof(float) * s.W);
        }
      if (!fn) {
        for (index_t k = k0; k < k1; ++k) scalar_rows(s, xp, LS, pr, k, a.y + (n * s.K + k) * OH * OW);
      } else {
        static thread_local AlignedBuffer<float> parts;
        parts.reserve_at_least(static_cast<std::size_t>(std::max<index_t>(1, block_k * tile_floats)));
        const index_t out_floats = index_t(V) * L;
        auto unit = [&](index_t t, index_t kb, index_t kend) {
          const index_t f0 = std::min<index_t>(t * V, nvec - V) * L;  // the last tile overlaps, never passes the plane
          const float* x0 = xp + f0;
          const index_t nk = std::min(kend, kb + block_k) - kb;
          for (index_t j = 0; j < pr.chunks; ++j)
            fn(x0, pr.val.data(), pr.off.data(), pr.seg.data() + (kb * pr.chunks + j) * NQ, per_filter, nk,
               parts.data(), j == 0);
          // Finished: the output rows the tile covers out, without the pad columns between them.
          for (index_t kk = 0; kk < nk; ++kk) {
            float* yk = a.y + (n * s.K + kb + kk) * OH * OW;
            float* part = parts.data() + kk * tile_floats;
            if (NQ > 1 && LS % L == 0) {
              combine_out<S>(part, V, NQ, lay.residue.data(), f0, LS, OH, OW, yk);
              continue;
            }
            if (NQ > 1) combine<S>(part, V, NQ, lay.residue.data());
            for (index_t oh = f0 / LS; oh < OH && oh * LS < f0 + out_floats; ++oh) {
              const index_t b = std::max(oh * LS, f0), e = std::min(oh * LS + OW, f0 + out_floats);
              if (e > b) std::memcpy(yk + oh * OW + (b - oh * LS), part + (b - f0), sizeof(float) * (e - b));
            }
          }
        };
        for (index_t t = t0; t < t1; ++t)
          for (index_t kb = k0; kb < k1; kb += block_k) unit(t, kb, k1);
      }
    }
  }
}

}  // namespace pb::detail
