// Structured pruning removes whole rows (output neurons, filters) or columns (input channels); what runs then is
// a smaller dense problem. These build it from the masked weights, so the benchmarks only set up and time.
#include <algorithm>
#include <cmath>

#include "prunebench/prune.h"

namespace pb {

Compact compact_rows(std::span<const float> w, const Mask& m, index_t M, index_t K) {
  Compact c;
  for (index_t i = 0; i < M; ++i) {
    const auto row = m.begin() + i * K;
    if (std::any_of(row, row + K, [](std::uint8_t v) { return v != 0; })) c.kept.push_back(i);
  }
  c.w.reserve(c.kept.size() * static_cast<std::size_t>(K));
  for (index_t i : c.kept) c.w.insert(c.w.end(), w.begin() + i * K, w.begin() + (i + 1) * K);
  return c;
}

Compact compact_columns(std::span<const float> w, const Mask& m, index_t M, index_t K) {
  Compact c;
  for (index_t j = 0; j < K; ++j) {
    bool any = false;
    for (index_t i = 0; i < M && !any; ++i) any = m[i * K + j] != 0;
    if (any) c.kept.push_back(j);
  }
  c.w.reserve(static_cast<std::size_t>(M) * c.kept.size());
  for (index_t i = 0; i < M; ++i)
    for (index_t j : c.kept) c.w.push_back(w[i * K + j]);
  return c;
}

Mask mask_conv_channels(std::span<const float> w, index_t K, index_t C, index_t RS, double sparsity) {
  // Channel c owns columns c*RS .. c*RS+RS-1 of every filter: its score is their L1 norm over all filters, and
  // mask_columns on that 1 x C row of scores picks the channels to drop (smallest first, ties by position).
  std::vector<double> l1(static_cast<std::size_t>(C), 0.0);
  const index_t CRS = C * RS;
  for (index_t k = 0; k < K; ++k)
    for (index_t j = 0; j < CRS; ++j) l1[j / RS] += std::abs(w[k * CRS + j]);
  std::vector<float> score(l1.begin(), l1.end());
  const Mask channels = mask_columns(score, 1, C, sparsity);
  Mask m(static_cast<std::size_t>(K * CRS), 0);
  for (index_t k = 0; k < K; ++k)
    for (index_t j = 0; j < CRS; ++j) m[k * CRS + j] = channels[j / RS];
  return m;
}

Compact compact_conv_channels(std::span<const float> w, const Mask& m, index_t K, index_t C, index_t RS) {
  Compact c;
  const index_t CRS = C * RS;
  for (index_t ch = 0; ch < C; ++ch) {
    bool any = false;
    for (index_t k = 0; k < K && !any; ++k)
      for (index_t j = 0; j < RS && !any; ++j) any = m[k * CRS + ch * RS + j] != 0;
    if (any) c.kept.push_back(ch);
  }
  c.w.reserve(static_cast<std::size_t>(K) * c.kept.size() * static_cast<std::size_t>(RS));
  for (index_t k = 0; k < K; ++k)
    for (index_t ch : c.kept) c.w.insert(c.w.end(), w.begin() + k * CRS + ch * RS, w.begin() + k * CRS + (ch + 1) * RS);
  return c;
}

std::vector<float> gather_channels(const float* x, index_t N, index_t C, index_t HW, const std::vector<index_t>& kept) {
  const index_t Ck = static_cast<index_t>(kept.size());
  std::vector<float> out(static_cast<std::size_t>(N * Ck * HW));
  for (index_t n = 0; n < N; ++n)
    for (index_t i = 0; i < Ck; ++i) std::copy_n(x + (n * C + kept[i]) * HW, HW, out.data() + (n * Ck + i) * HW);
  return out;
}

}  // namespace pb
