// How the kernels walk B: K in panels sized to L2, a thread's own packed copy of a B slice and when it pays, when
// to prefetch, and N in column tiles.
#pragma once
#include <algorithm>

#include "prunebench/cpu.h"
#include "prunebench/types.h"
#include "spmm_openmp_row_tile.h"

namespace {

using pb::index_t;

// This core's L2 (256 KiB when sysfs does not say), read once.
inline index_t l2_bytes() {
  static const index_t l2 = [] {
    const auto b = pb::cpu::cache_bytes(2);
    return b > 0 ? b : index_t{256} << 10;
  }();
  return l2;
}

// K in panels of at most kb rows, all of equal size (one panel where K fits).
inline index_t equal_panels(index_t K, index_t kb) {
  if (K <= kb) return K;
  const index_t panels = (K + kb - 1) / kb;
  return (K + panels - 1) / panels;
}
// K is cut into panels of kb rows so that a kb x tile_floats slice of B (tile_floats: the widest column tile the
// call runs) fits in half of L2 and survives the sparse arrays streaming past it; each row then runs panel by panel
// (its column indices are sorted, so a panel is a contiguous run of its non-zeros) and C is accumulated across
// panels. One panel when K is small.
inline index_t panel_rows(index_t K, index_t tile_floats) {
  const index_t per_row = tile_floats * static_cast<index_t>(sizeof(float));
  return equal_panels(K, std::max<index_t>(64, l2_bytes() / 2 / per_row));
}

// Where C has several column tiles, a tile's slice of a K panel (kb rows of NV x L floats) lies in B at a stride
// of N floats, and the L2 can hold little of it: at N = 512 a row's 512 bytes of every 2 KB map to a quarter of
// the L2's sets (measured: 2:4 at 768x512x3072, 19 G multiply-adds/s against 43 at N = 128, where the slice is
// contiguous). So each thread first copies the slice into a contiguous buffer of its own, then multiplies from it.
// Own, not one copy shared by the threads (each copying part, a barrier, then all reading all of it): a shared copy
// crosses between cores on every panel, and on the Zen 4 guest, whenever the host placed the two vCPUs on cores
// without a shared L3, csr_rt6 and csr_wide at 768x512x3072 took 1.23-1.53x their time with the cores close (2:4 and
// 90%); with their own copies 0.97-1.06x, and with the cores close the same time as before (0.96-1.04x).
// Called inside the parallel region: each thread's own buffer.
inline float* own_slice(index_t floats) {
  static thread_local pb::AlignedBuffer<float> buf;
  buf.reserve_at_least(static_cast<std::size_t>(floats));
  return buf.data();
}
// The copy is not overlapped with the FMAs and reads the whole slice, where the unpacked kernel reads from L3 only
// the rows it uses, interleaved with its arithmetic. It pays where the strided slice would not fit (the panel at
// full width past half of L2) and each B row feeds enough non-zeros: at least kPackMinUses on average. Measured on
// the DLMC sample at N = 512 (AVX-512, 2 threads): 13 uses per row (128x1152 at 90%) ran 1.6x slower packed,
// 26 (256x2304 at 90%) 1.2-1.3x slower, 38 (128x1152 at 70%) 0.72-0.81x the time; 51 (512x4608 and 512x2048 at
// 90%) 0.84-0.94x and 0.55x, 100 and more (final_dense at 90%, the 70% layers past L2, 2:4 at 768x512x3072 with
// 384) 0.36-0.84x. The threshold sits between 26 and 51, on the safe side of 38.
constexpr index_t kPackMinUses = 40;
inline bool pack_pays(index_t nnz, index_t K, index_t N, index_t kb, index_t tile_floats) {
  const index_t l2 = l2_bytes();
  return N > tile_floats && std::min(K, kb) * N * index_t(sizeof(float)) > l2 / 2 && nnz >= kPackMinUses * K;
}

// rows x tile_floats floats of B (a K panel's slice for one column tile), rows ldb floats apart: past a third of
// L2, see kPrefetch; or always where a vector is narrower than a cache line (one prefetch per two or more loads: on
// the same sample under PB_MAX_ISA=avx2, leaving them out took 1.06x the time); or where B's rows do not start on
// cache lines (ldb not a multiple of 16 floats, as at N = 49), so each row segment spans one line more than it
// fills and every load is split across two (DLMC at N = 49, AVX-512: without them 1.06-1.07x the time).
template <class T>
inline bool prefetch_pays(index_t rows, index_t tile_floats, index_t ldb) {
  constexpr index_t line = 64 / sizeof(float);
  return T::L < line || ldb % line != 0 || rows * tile_floats * index_t(sizeof(float)) * 3 > l2_bytes();
}

// Copies B[k0 : k1, j0 : j0 + NV*L] (the last vector under m where Masked) into dst, k1 - k0 rows ld floats apart.
template <class T, int NV, bool Masked>
inline void pack_slice(const float* B, index_t ldb, index_t k0, index_t k1, index_t j0, float* dst, index_t ld,
                       typename T::Mask m) {
  for (index_t k = k0; k < k1; ++k) copy_tile<T, NV, Masked>(dst + (k - k0) * ld, B + k * ldb + j0, m);
}

// Calls f.template operator()<NV>() with NV = nv (1 <= nv <= Max): a run-time vector count as a compile-time one.
template <int Max, class F>
inline void with_vector_count(int nv, F&& f) {
  if constexpr (Max > 1)
    if (nv < Max) return with_vector_count<Max - 1>(nv, f);
  f.template operator()<Max>();
}

// Calls tile.operator()<NV, Masked>(j, lanes) once for the columns [j, N), 1 to Max vectors: NV = the vectors
// left, the last holding `lanes` columns, masked when that is less than L.
template <class T, int Max, class Tile>
inline void last_tile(index_t j, index_t N, Tile&& tile) {
  constexpr int L = T::L;
  const int nv = static_cast<int>((N - j + L - 1) / L), lanes = static_cast<int>(N - j - (nv - 1) * L);
  with_vector_count<Max>(nv, [&]<int NV>() {
    if (lanes == L)
      tile.template operator()<NV, false>(j, L);
    else
      tile.template operator()<NV, true>(j, lanes);
  });
}

// Calls tile.operator()<NV, Masked>(j0, lanes) over [0, N): tiles of MaxNV vectors, then 8 while more than 8
// remain, then one tile for the rest: NV = the vectors left (1 to 8), the last holding `lanes` columns (masked when
// that is less than L). One pass over the sparse rows for the remainder, where tiles of 4, 2, 1 vectors and a
// column-by-column tail made up to four (N = 49 on AVX-512: 2 + 1 vectors and 1 column, now one tile of 4).
template <class T, int MaxNV, class Tile>
inline void for_column_tiles(index_t N, Tile&& tile) {
  static_assert(MaxNV >= 8);
  constexpr int L = T::L;
  index_t j = 0;
  for (; j + MaxNV * L <= N; j += MaxNV * L) tile.template operator()<MaxNV, false>(j, L);
  for (; N - j > 8 * L; j += 8 * L) tile.template operator()<8, false>(j, L);
  if (j < N) last_tile<T, 8>(j, N, tile);
}

}  // namespace
