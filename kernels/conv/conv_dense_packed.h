// Filters packed in a kernel's own layout, once per set of weights: shared by the dense direct convolution's
// k x k and 1x1 paths.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "prunebench/conv.h"
#include "prunebench/types.h"

namespace pb::detail {

namespace conv_dense {

// A kernel's packing of the filters, kept in the weights' cache slot (SparseWeights::prepared, which the benchmark
// and the tests pass with dense filters too, and reset when the weights change).
struct Packed {
  AlignedBuffer<float> data;
};

// The filters in a kernel's own packing, made by fill(dst) into n floats: once per set of weights where there is a
// cache slot (its key names the packing and the shape), else on every call into scratch.
template <class Fill>
const float* packed(const ConvArgs& a, const std::string& name, std::size_t n, Fill&& fill) {
  if (!a.wsp) {
    static thread_local AlignedBuffer<float> scratch;
    scratch.reserve_at_least(n);
    fill(scratch.data());
    return scratch.data();
  }
  const ConvShape& s = a.s;
  const std::string key = name + "/" + std::to_string(s.K) + "x" + std::to_string(s.C) + "x" + std::to_string(s.R) +
                          "x" + std::to_string(s.S);
  return static_cast<const Packed*>(a.wsp->prepared.get(key, [&] {
           auto p = std::make_shared<Packed>();
           p->data.resize(n);
           fill(p->data.data());
           return p;
         }))
      ->data.data();
}

}  // namespace conv_dense

}  // namespace pb::detail
