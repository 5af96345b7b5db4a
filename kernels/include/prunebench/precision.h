// The precisions GPU rows compute in, described once: the row's `dtype` key, bytes per stored element, the
// rounding the tensor cores apply to the inputs, and which dense precisions a user deploying that input could
// accept instead (the analysis judges every sparse row against the fastest of those as well as against dense at
// its own precision). bench/gpu.cc, the GPU factories, the tests and (through the run's context,
// `precision_classes`) the Python analysis all read this table.
#pragma once
#include <string>
#include <vector>

#include "prunebench/types.h"

namespace pb {

struct Precision {
  std::string dtype;       // row key: f32, tf32, f16, bf16, i8, e4m3
  int in_bytes;            // per stored input element
  int out_bytes;           // per output element as the rows write it (i8 -> int32, e4m3 -> bf16)
  double unit_roundoff;    // relative rounding of one input (i8: two quantisation steps of the largest |value|)
  std::vector<std::string> accepts;  // dense precisions that serve the same deployment, this one first
  bool tensor_cores;       // rounded inputs: checked with the low-precision tolerance below
};

const std::vector<Precision>& precisions();
const Precision& precision(const std::string& dtype);  // throws std::invalid_argument naming the known ones

// ‖out − ref‖∞/‖ref‖∞ allowed for a reduction of length K in this precision. FP32 rows: the FP32 dot bound. Rounded
// inputs: the error of a random-sign sum grows like √K but so does ‖ref‖∞, so the ratio stays near the unit
// roundoff u (a float64 simulation of uniform and normal inputs at K = 64..4096: 0.9u for bf16, 0.6u for e4m3,
// 0.4u (uniform) to 1.1u (normal) for i8); 4u leaves room for that spread and still fails a wrong layout or a
// dropped block (ratios near 1).
double precision_tolerance(const std::string& dtype, index_t K);

}  // namespace pb
