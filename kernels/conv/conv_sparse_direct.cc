// Direct sparse convolution: the pruned filters stay in CSR over (c, r, s) and are streamed against the input;
// no im2col is materialized. Output-stationary: a tile of 32 consecutive outputs of one output row lives in
// registers while all non-zeros of that output channel go by, each costing one broadcast, four vector loads of
// the input and four FMAs. The input is first copied into zero-padded planes so the inner loop never tests
// bounds; each non-zero's (c, r, s) becomes one precomputed offset into that padded input.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "prunebench/conv.h"

#if defined(__x86_64__)
#define PB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PB_CLONES
#endif

namespace pb {

namespace {

typedef float v8 __attribute__((vector_size(32)));
constexpr index_t kTile = 32;  // outputs per register tile: 4 vectors of 8

// A macro, not a function: a function returning a 256-bit vector has a different ABI in the AVX clones than in
// the default one (GCC warns), while the macro expands inside each clone.
#define PB_LOAD8(p)              \
  ({                             \
    v8 v_;                       \
    std::memcpy(&v_, (p), 32);   \
    v_;                          \
  })

// One output channel's row `oh` of one image, all columns.
PB_CLONES void out_row(const float* xp, const float* vals, const index_t* offs, index_t nnz, index_t row_off,
                       index_t stride, index_t OW, float* y) {
  index_t ow = 0;
  if (stride == 1) {
    for (; ow + kTile <= OW; ow += kTile) {
      v8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
      for (index_t p = 0; p < nnz; ++p) {
        const float* x = xp + offs[p] + row_off + ow;
        const v8 w = v8{} + vals[p];
        a0 += w * PB_LOAD8(x);
        a1 += w * PB_LOAD8(x + 8);
        a2 += w * PB_LOAD8(x + 16);
        a3 += w * PB_LOAD8(x + 24);
      }
      std::memcpy(y + ow, &a0, 32);
      std::memcpy(y + ow + 8, &a1, 32);
      std::memcpy(y + ow + 16, &a2, 32);
      std::memcpy(y + ow + 24, &a3, 32);
    }
    for (; ow + 8 <= OW; ow += 8) {  // narrow rows (14, 28 wide) and the remainder of wide ones
      v8 a0 = {};
      for (index_t p = 0; p < nnz; ++p) a0 += (v8{} + vals[p]) * PB_LOAD8(xp + offs[p] + row_off + ow);
      std::memcpy(y + ow, &a0, 32);
    }
  }
  // Strided rows and the tail: scalar, still output-stationary.
  for (; ow < OW; ++ow) {
    float acc = 0.0f;
    for (index_t p = 0; p < nnz; ++p) acc += vals[p] * xp[offs[p] + row_off + ow * stride];
    y[ow] = acc;
  }
}

float* padded_scratch(std::size_t n) {
  static thread_local AlignedBuffer<float> buf;
  buf.reserve_at_least(n);
  return buf.data();
}

}  // namespace

void conv_openmp_sparse_direct(const ConvArgs& a) {
  const ConvShape& s = a.s;
  const Csr& w = a.wsp->csr;
  const index_t OH = s.OH(), OW = s.OW(), Hp = s.H + 2 * s.pad, Wp = s.W + 2 * s.pad;
  float* xp = padded_scratch(static_cast<std::size_t>(s.C * Hp * Wp));
  std::vector<index_t> offs(static_cast<std::size_t>(w.nnz()));
  for (index_t p = 0; p < w.nnz(); ++p) {
    const index_t col = w.colidx[p], c = col / (s.R * s.S), r = (col / s.S) % s.R, q = col % s.S;
    offs[p] = (c * Hp + r) * Wp + q;
  }
  for (index_t n = 0; n < s.N; ++n) {
    const float* xn = a.x + n * s.C * s.H * s.W;
#pragma omp parallel num_threads(a.threads)
    {
#pragma omp for schedule(static)
      for (index_t c = 0; c < s.C; ++c) {
        float* plane = xp + c * Hp * Wp;
        std::memset(plane, 0, sizeof(float) * Hp * Wp);
        for (index_t h = 0; h < s.H; ++h)
          std::memcpy(plane + (h + s.pad) * Wp + s.pad, xn + (c * s.H + h) * s.W, sizeof(float) * s.W);
      }
      // Output channels have uneven non-zero counts: dynamic scheduling balances them.
#pragma omp for schedule(dynamic, 1)
      for (index_t k = 0; k < s.K; ++k) {
        const index_t p0 = w.rowptr[k], nnz = w.rowptr[k + 1] - p0;
        float* yk = a.y + (n * s.K + k) * OH * OW;
        for (index_t oh = 0; oh < OH; ++oh)
          out_row(xp, w.values.data() + p0, offs.data() + p0, nnz, oh * s.stride * Wp, s.stride, OW, yk + oh * OW);
      }
    }
  }
}

}  // namespace pb
