#include "prunebench/precision.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "prunebench/reference.h"

namespace pb {

const std::vector<Precision>& precisions() {
  // FP32 inputs may be run as FP32 or TF32 (frameworks allow TF32 for FP32 models); 16-bit inputs as FP16 or
  // BF16 (a model trained in one is commonly served in the other); INT8 and FP8 need their own quantisation.
  static const std::vector<Precision> table = {
      {"f32", 4, 4, std::ldexp(1.0, -24), {"f32", "tf32"}, false},
      {"tf32", 4, 4, std::ldexp(1.0, -11), {"tf32", "f32"}, true},
      {"f16", 2, 2, std::ldexp(1.0, -11), {"f16", "bf16"}, true},
      {"bf16", 2, 2, std::ldexp(1.0, -8), {"bf16", "f16"}, true},
      // i8: one quantisation step of the largest |value| is 1/127 of it; normal inputs, whose largest value is ~4x
      // their typical one, show twice the error of uniform ones (simulated: 0.017 against 0.0065), hence 2/127.
      {"i8", 1, 4, 2.0 / 127.0, {"i8"}, true},
      {"e4m3", 1, 2, std::ldexp(1.0, -4), {"e4m3"}, true},
  };
  return table;
}

const Precision& precision(const std::string& dtype) {
  const auto& t = precisions();
  const auto it = std::find_if(t.begin(), t.end(), [&](const Precision& p) { return p.dtype == dtype; });
  if (it != t.end()) return *it;
  std::string known;
  for (const auto& p : t) known += (known.empty() ? "" : ", ") + p.dtype;
  throw std::invalid_argument("unknown dtype '" + dtype + "' (known: " + known + ")");
}

double precision_tolerance(const std::string& dtype, index_t K) {
  const Precision& p = precision(dtype);
  if (!p.tensor_cores) return ref::dot_tolerance(K);
  return std::max({1e-2, 4.0 * p.unit_roundoff, ref::dot_tolerance(K)});
}

}  // namespace pb
