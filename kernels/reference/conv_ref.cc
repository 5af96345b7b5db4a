#include "prunebench/reference.h"

namespace pb::ref {

void conv(const ConvShape& s, const float* x, const float* w, index_t k0, index_t k1, double* out) {
  const index_t OH = s.OH(), OW = s.OW(), KK = k1 - k0;
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (index_t n = 0; n < s.N; ++n)
    for (index_t kk = 0; kk < KK; ++kk) {
      const index_t k = k0 + kk;
      for (index_t oh = 0; oh < OH; ++oh)
        for (index_t ow = 0; ow < OW; ++ow) {
          double acc = 0.0;
          for (index_t c = 0; c < s.C; ++c)
            for (index_t r = 0; r < s.R; ++r) {
              const index_t ih = oh * s.stride + r - s.pad;
              if (ih < 0 || ih >= s.H) continue;
              for (index_t q = 0; q < s.S; ++q) {
                const index_t iw = ow * s.stride + q - s.pad;
                if (iw < 0 || iw >= s.W) continue;
                acc += static_cast<double>(w[((k * s.C + c) * s.R + r) * s.S + q]) * x[((n * s.C + c) * s.H + ih) * s.W + iw];
              }
            }
          out[((n * KK + kk) * OH + oh) * OW + ow] = acc;
        }
    }
}

}  // namespace pb::ref
