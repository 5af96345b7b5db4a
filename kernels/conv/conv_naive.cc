// naive: the direct seven-loop convolution, scalar (compiled without vectorization), one thread.
#include "prunebench/conv.h"

namespace pb {

void conv_naive(const ConvArgs& a) {
  const ConvShape& s = a.s;
  const index_t OH = s.OH(), OW = s.OW();
  for (index_t n = 0; n < s.N; ++n)
    for (index_t k = 0; k < s.K; ++k)
      for (index_t oh = 0; oh < OH; ++oh)
        for (index_t ow = 0; ow < OW; ++ow) {
          float acc = 0.0f;
          for (index_t c = 0; c < s.C; ++c)
            for (index_t r = 0; r < s.R; ++r) {
              const index_t ih = oh * s.stride + r - s.pad;
              if (ih < 0 || ih >= s.H) continue;
              for (index_t q = 0; q < s.S; ++q) {
                const index_t iw = ow * s.stride + q - s.pad;
                if (iw < 0 || iw >= s.W) continue;
                acc += a.w[((k * s.C + c) * s.R + r) * s.S + q] * a.x[((n * s.C + c) * s.H + ih) * s.W + iw];
              }
            }
          a.y[((n * s.K + k) * OH + oh) * OW + ow] = acc;
        }
}

}  // namespace pb
