// im2col-based convolutions: dense through a GEMM backend (eigen, openmp), sparse through our CSR SpMM. Per
// image, the filters (K x C*R*S) multiply the unfolded input (C*R*S x OH*OW) into the output (K x OH*OW), which
// is exactly the NCHW layout of y, so no output transpose is needed.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "prunebench/conv.h"
#include "prunebench/gemm.h"
#include "prunebench/spmm.h"

namespace pb {

namespace {

// Rows (c, r, q) of channels [c0, c1) and columns [j0, j1) of the unfolded image, rows j1 - j0 floats apart.
void unfold(const ConvShape& s, const float* x, float* cols, index_t c0, index_t c1, index_t j0, index_t j1) {
  const index_t OW = s.OW(), nj = j1 - j0;
  for (index_t c = c0; c < c1; ++c)
    for (index_t r = 0; r < s.R; ++r)
      for (index_t q = 0; q < s.S; ++q) {
        float* out = cols + (((c - c0) * s.R + r) * s.S + q) * nj;
        // Valid output columns of tap q: 0 <= ow*stride + q - pad < W.
        const index_t lo = std::min(OW, std::max<index_t>(0, (s.pad - q + s.stride - 1) / s.stride));
        const index_t hi = std::max(lo, std::min(OW, (s.W + s.pad - q + s.stride - 1) / s.stride));
        for (index_t j = j0; j < j1;) {  // one output row's part of the columns at a time
          const index_t oh = j / OW, ow0 = j % OW, ow1 = std::min(OW, ow0 + (j1 - j));
          float* o = out + (j - j0) - ow0;  // o[ow] is column oh OW + ow
          const index_t ih = oh * s.stride + r - s.pad;
          if (ih < 0 || ih >= s.H) {
            std::memset(o + ow0, 0, sizeof(float) * (ow1 - ow0));
          } else {
            const float* xi = x + (c * s.H + ih) * s.W;
            const index_t a = std::clamp(lo, ow0, ow1), b = std::clamp(hi, a, ow1);
            for (index_t ow = ow0; ow < a; ++ow) o[ow] = 0.0f;
            if (s.stride == 1) {
              std::memcpy(o + a, xi + a + q - s.pad, sizeof(float) * (b - a));
            } else {
              for (index_t ow = a; ow < b; ++ow) o[ow] = xi[ow * s.stride + q - s.pad];
            }
            for (index_t ow = b; ow < ow1; ++ow) o[ow] = 0.0f;
          }
          j += ow1 - ow0;
        }
      }
}

}  // namespace

// On the row's threads, channels split between them: single-threaded, the unfolding took about a third of
// sparse_im2col's time at 2 threads (C256@14 at 90%, Zen 4, perf), one core idle meanwhile.
void im2col(const ConvShape& s, const float* x, float* cols, int threads) {
  const index_t OHW = s.OH() * s.OW();
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (index_t c = 0; c < s.C; ++c) unfold(s, x, cols + c * s.R * s.S * OHW, c, c + 1, 0, OHW);
}

void im2col_columns(const ConvShape& s, const float* x, float* cols, index_t j0, index_t j1) {
  unfold(s, x, cols, 0, s.C, j0, j1);
}

namespace {

// The unfolded-input scratch, kept per calling thread between calls (the im2col work itself is timed).
float* cols_scratch(std::size_t n) {
  static thread_local AlignedBuffer<float> buf;
  buf.reserve_at_least(n);
  return buf.data();
}

// Per image: the unfolded input (C*R*S x OH*OW, or the input itself for 1x1 layers) times the filters into y, with
// each thread's data its own: threads split the output columns (positions), each unfolding its own columns into its
// own buffer, or, for the dense products where the filters outweigh the unfolded input (K > OH*OW: late layers), the
// filters, each thread unfolding the whole image for itself. Either way one single-threaded product per thread, and
// no thread reads what another wrote. With the unfolding split by channels and the product's own threads splitting
// its work (and sharing its packed panels), most of what a thread read came from the other's cache: whenever the host
// placed the two vCPUs on cores without a shared L3 (Zen 4 guest, see the guard's cross-core canary), sparse_im2col
// ran 2.5-4.6x slower (C64@56 to C512@7, 90%) and the dense routes 1.5-2.6x; split this way 0.99-1.06x (scripts/abab
// in run mode, repetitions told apart by their guard_c2c_ns: results/reference/amd-epyc-zen4-2c-placement-study-*).

// Columns [j0, j1) of thread t of T: where the output rows lie on whole cache lines (OHW a multiple of 16 floats) each
// thread's columns start on one, so its stores to y never split a line; otherwise the rows straddle lines anyway and
// the columns split evenly (at 7x7, 25 and 24 columns took 0.89x the time of 32 and 17: C512@7 at 90%, Zen 4, abab).
std::pair<index_t, index_t> column_share(index_t OHW, index_t t, index_t T) {
  const index_t g = OHW % 16 == 0 ? 16 : 1, groups = OHW / g;
  return {groups * t / T * g, groups * (t + 1) / T * g};
}

bool is_pointwise(const ConvShape& s) { return s.R == 1 && s.S == 1 && s.stride == 1 && s.pad == 0; }

// Channels split for the unfolding, then one product on the row's threads (product(B, ldb, columns, y, threads)).
template <class Product>
void shared_im2col(const ConvArgs& a, Product&& product) {
  const ConvShape& s = a.s;
  const index_t OHW = s.OH() * s.OW(), CRS = s.C * s.R * s.S;
  for (index_t n = 0; n < s.N; ++n) {
    const float* xn = a.x + n * s.C * s.H * s.W;
    const float* B = xn;  // 1x1: the input already is the matrix
    if (!is_pointwise(s)) {
      float* cols = cols_scratch(static_cast<std::size_t>(CRS * OHW));
      im2col(s, xn, cols, a.threads);
      B = cols;
    }
    product(B, OHW, OHW, a.y + n * s.K * OHW, a.threads);
  }
}

// One single-threaded product per thread on its own share, per image: the output columns [j0, j1) (column_share)
// of all filters, or, by_filters, all columns of the filters [k0, k1). Each thread unfolds the columns it reads into
// its own buffer (1x1 layers: reads them in place) and calls product(B, ldb, j0, j1, k0, k1, y of the image).
template <class Product>
void own_im2col(const ConvArgs& a, bool by_filters, Product&& product) {
  const ConvShape& s = a.s;
  const index_t OHW = s.OH() * s.OW(), CRS = s.C * s.R * s.S;
  for (index_t n = 0; n < s.N; ++n) {
    const float* xn = a.x + n * s.C * s.H * s.W;
    float* yn = a.y + n * s.K * OHW;
#pragma omp parallel num_threads(a.threads)
    {
      const index_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      const auto [j0, j1] = by_filters ? std::pair<index_t, index_t>{0, OHW} : column_share(OHW, t, nt);
      const index_t k0 = by_filters ? s.K * t / nt : 0, k1 = by_filters ? s.K * (t + 1) / nt : s.K;
      if (j1 > j0 && k1 > k0) {
        const float* B = xn + j0;
        index_t ldb = OHW;
        if (!is_pointwise(s)) {
          float* cols = cols_scratch(static_cast<std::size_t>(CRS * (j1 - j0)));  // this thread's own
          im2col_columns(s, xn, cols, j0, j1);
          B = cols, ldb = j1 - j0;
        }
        product(B, ldb, j0, j1, k0, k1, yn);
      }
    }
  }
}

// The sparse products, by columns (a vector of them per thread is enough: csr_l1 tiles are 1-4 vectors wide). With
// the cores close this also took 0.93x / 0.74x the time at C128@28 / C256@7 95% (abab, Zen 4). 1x1 layers keep the
// SpMM's own split: it reads the input in place, nothing is handed between threads.
template <class Spmm>
void sparse_via_im2col(const ConvArgs& a, Spmm&& spmm) {
  const index_t OHW = a.s.OH() * a.s.OW();
  if (is_pointwise(a.s) || a.threads < 2 || OHW < 16 * index_t(a.threads))
    return shared_im2col(a, [&](const float* B, index_t ldb, index_t n, float* y, int threads) {
      spmm(SpmmArgs{a.wsp, n, B, ldb, y, OHW, threads});
    });
  own_im2col(a, false, [&](const float* B, index_t ldb, index_t j0, index_t j1, index_t, index_t, float* y) {
    spmm(SpmmArgs{a.wsp, j1 - j0, B, ldb, y + j0, OHW, 1});
  });
}

// The dense products (gemm(GemmArgs)): by columns where each thread gets a few register tiles of them (96), 1x1
// layers included (each thread multiplies its columns of the input in place); by filters where they outweigh the
// unfolded input, each thread then unfolding all of it (the cheaper operand twice, not the GEMM's packed filters
// shared). By columns at C256@14 (filters 2.4 MB, unfolded input 1.8 MB) took 1.11x the time with the cores close:
// both threads packed all the filters.
template <class Gemm>
void dense_via_im2col(const ConvArgs& a, Gemm&& gemm) {
  const ConvShape& s = a.s;
  const index_t OHW = s.OH() * s.OW(), CRS = s.C * s.R * s.S, T = a.threads;
  const bool by_filters = s.K > OHW && s.K >= 16 * T, by_columns = !by_filters && OHW >= 96 * T;
  if (T < 2 || (!by_filters && !by_columns))
    return shared_im2col(a, [&](const float* B, index_t ldb, index_t n, float* y, int threads) {
      gemm(GemmArgs{s.K, n, CRS, a.w, CRS, B, ldb, y, OHW, threads});
    });
  own_im2col(a, by_filters, [&](const float* B, index_t ldb, index_t j0, index_t j1, index_t k0, index_t k1, float* y) {
    gemm(GemmArgs{k1 - k0, j1 - j0, CRS, a.w + k0 * CRS, CRS, B, ldb, y + k0 * OHW + j0, OHW, 1});
  });
}

}  // namespace

void conv_eigen_im2col(const ConvArgs& a) { dense_via_im2col(a, gemm_eigen); }

void conv_openmp(const ConvArgs& a) { dense_via_im2col(a, gemm_openmp); }

// The fastest of our CSR SpMM kernels on real patterns: csr_l1 (it reorders the weights into K panels on the first
// call for these weights, which the benchmark makes before timing). Against csr_rt6 on Zen 3 (AVX2, 2 threads, 90%
// magnitude, interleaved): 0.81-0.88x the time on the 3x3 layers C64@56 to C512@7, the same on 1x1 C256@56.
void conv_openmp_sparse_im2col(const ConvArgs& a) {
  sparse_via_im2col(a, spmm_openmp_csr_l1);
}

void conv_openmp_bsr_im2col(const ConvArgs& a) {
  sparse_via_im2col(a, spmm_openmp_bsr);
}

void conv_openmp_nm_im2col(const ConvArgs& a) {
  sparse_via_im2col(a, spmm_openmp_nm);
}

}  // namespace pb
