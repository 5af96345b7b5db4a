// Useful work of a convolution: a multiply-add counts only when its input tap lies inside the image. Taps that
// fall in the zero padding multiply by zero; a library may skip them (oneDNN's brgconv does), so counting them
// would credit it with FLOPs it never ran and put its rate above the machine's peak.
#include "prunebench/conv.h"

namespace pb {

std::vector<index_t> conv_taps_inside(index_t in, index_t out, index_t taps, index_t stride, index_t pad) {
  std::vector<index_t> v(static_cast<std::size_t>(taps), 0);
  for (index_t t = 0; t < taps; ++t)
    for (index_t o = 0; o < out; ++o) {
      const index_t i = o * stride - pad + t;
      if (i >= 0 && i < in) ++v[t];
    }
  return v;
}

double conv_useful_flops(const ConvShape& s) {
  double rows = 0, cols = 0;
  for (index_t v : conv_taps_inside(s.H, s.OH(), s.R, s.stride, s.pad)) rows += double(v);
  for (index_t v : conv_taps_inside(s.W, s.OW(), s.S, s.stride, s.pad)) cols += double(v);
  return 2.0 * double(s.N) * double(s.K) * double(s.C) * rows * cols;
}

double conv_useful_flops(const ConvShape& s, const Csr& w) {
  const auto vr = conv_taps_inside(s.H, s.OH(), s.R, s.stride, s.pad);
  const auto vs = conv_taps_inside(s.W, s.OW(), s.S, s.stride, s.pad);
  double macs = 0;
  for (const std::int32_t j : w.colidx) {  // column j of K x (C*R*S) is tap (c, r, s) = (j / RS, j / S % R, j % S)
    macs += double(vr[static_cast<std::size_t>(j / s.S % s.R)]) * double(vs[static_cast<std::size_t>(j % s.S)]);
  }
  return 2.0 * double(s.N) * macs;
}

}  // namespace pb
