// im2col-based convolutions: dense through a GEMM backend (eigen, openmp), sparse through our CSR SpMM. Per
// image, the filters (K x C*R*S) multiply the unfolded input (C*R*S x OH*OW) into the output (K x OH*OW), which
// is exactly the NCHW layout of y, so no output transpose is needed.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "prunebench/conv.h"
#include "prunebench/gemm.h"
#include "prunebench/spmm.h"

namespace pb {

// On the row's threads, channels split between them: single-threaded, the unfolding took about a third of
// sparse_im2col's time at 2 threads (C256@14 at 90%, Zen 4, perf), one core idle meanwhile.
void im2col(const ConvShape& s, const float* x, float* cols, int threads) {
  const index_t OH = s.OH(), OW = s.OW();
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (index_t c = 0; c < s.C; ++c)
    for (index_t r = 0; r < s.R; ++r)
      for (index_t q = 0; q < s.S; ++q) {
        float* out = cols + ((c * s.R + r) * s.S + q) * OH * OW;
        for (index_t oh = 0; oh < OH; ++oh) {
          const index_t ih = oh * s.stride + r - s.pad;
          float* o = out + oh * OW;
          if (ih < 0 || ih >= s.H) {
            std::memset(o, 0, sizeof(float) * OW);
            continue;
          }
          const float* xi = x + (c * s.H + ih) * s.W;
          // Valid output columns: 0 <= ow*stride + q - pad < W.
          const index_t lo = std::min(OW, std::max<index_t>(0, (s.pad - q + s.stride - 1) / s.stride));
          const index_t hi = std::max(lo, std::min(OW, (s.W + s.pad - q + s.stride - 1) / s.stride));
          for (index_t ow = 0; ow < lo; ++ow) o[ow] = 0.0f;
          if (s.stride == 1) {
            std::memcpy(o + lo, xi + lo + q - s.pad, sizeof(float) * (hi - lo));
          } else {
            for (index_t ow = lo; ow < hi; ++ow) o[ow] = xi[ow * s.stride + q - s.pad];
          }
          for (index_t ow = hi; ow < OW; ++ow) o[ow] = 0.0f;
        }
      }
}

namespace {

// The unfolded-input scratch, kept per calling thread between calls (the im2col work itself is timed).
float* cols_scratch(std::size_t n) {
  static thread_local AlignedBuffer<float> buf;
  buf.reserve_at_least(n);
  return buf.data();
}

template <class Product>
void via_im2col(const ConvArgs& a, Product&& product) {
  const ConvShape& s = a.s;
  const index_t OHW = s.OH() * s.OW(), CRS = s.C * s.R * s.S;
  const bool direct = s.R == 1 && s.S == 1 && s.stride == 1 && s.pad == 0;  // the input already is the matrix
  for (index_t n = 0; n < s.N; ++n) {
    const float* xn = a.x + n * s.C * s.H * s.W;
    const float* B = xn;
    if (!direct) {
      float* cols = cols_scratch(static_cast<std::size_t>(CRS * OHW));
      im2col(s, xn, cols, a.threads);
      B = cols;
    }
    product(B, OHW, CRS, a.y + n * s.K * OHW);
  }
}

}  // namespace

void conv_eigen_im2col(const ConvArgs& a) {
  via_im2col(a, [&](const float* B, index_t OHW, index_t CRS, float* y) {
    gemm_eigen({a.s.K, OHW, CRS, a.w, CRS, B, OHW, y, OHW, a.threads});
  });
}

void conv_openmp(const ConvArgs& a) {
  via_im2col(a, [&](const float* B, index_t OHW, index_t CRS, float* y) {
    gemm_openmp({a.s.K, OHW, CRS, a.w, CRS, B, OHW, y, OHW, a.threads});
  });
}

// The fastest of our CSR SpMM kernels on real patterns: csr_l1 (it reorders the weights into K panels on the first
// call for these weights, which the benchmark makes before timing). Against csr_rt6 on Zen 3 (AVX2, 2 threads, 90%
// magnitude, interleaved): 0.81-0.88x the time on the 3x3 layers C64@56 to C512@7, the same on 1x1 C256@56.
void conv_openmp_sparse_im2col(const ConvArgs& a) {
  via_im2col(a, [&](const float* B, index_t OHW, index_t, float* y) {
    spmm_openmp_csr_l1({a.wsp, OHW, B, OHW, y, OHW, a.threads});
  });
}

void conv_openmp_bsr_im2col(const ConvArgs& a) {
  via_im2col(a, [&](const float* B, index_t OHW, index_t, float* y) {
    spmm_openmp_bsr({a.wsp, OHW, B, OHW, y, OHW, a.threads});
  });
}

void conv_openmp_nm_im2col(const ConvArgs& a) {
  via_im2col(a, [&](const float* B, index_t OHW, index_t, float* y) {
    spmm_openmp_nm({a.wsp, OHW, B, OHW, y, OHW, a.threads});
  });
}

}  // namespace pb
