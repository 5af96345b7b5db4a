// Matrices on the device in the precisions of prunebench/precision.h: host FP32 data rounded once at set-up
// (never inside timing) into the storage type a library reads, and outputs widened back to FP32 for the oracle.
#pragma once
#include <library_types.h>

#include <string>

#include "cuda_check.h"
#include "prunebench/types.h"

namespace pb::gpu::detail {

// Storage of a row's inputs and output: tf32 inputs are stored as f32 (the tensor cores round them), i8 products
// accumulate into i32, e4m3 products are written as bf16 (what FP8 inference layers emit).
std::string input_storage(const std::string& dtype);
std::string output_storage(const std::string& dtype);
cudaDataType cuda_type(const std::string& storage);  // f32, f16, bf16, i8, i32, e4m3
size_t storage_bytes(const std::string& storage);

// i8 inputs are quantised symmetrically: x * scale rounded, scale = 127 / max|x| (1 for an all-zero matrix).
float quant_scale(const std::string& dtype, const float* host, size_t n);

// Host rows x cols (row-major) rounded into `storage` on the device, each value times `scale` first. Stored
// row-major with leading dimension ld >= cols, or transposed (cols x rows, leading dimension ld >= rows); the
// padding is zero. Synchronous.
DeviceArray<char> upload_as(const std::string& storage, const float* host, index_t rows, index_t cols, index_t ld,
                            bool transpose, float scale);
// rows x cols of `storage` with leading dimension ld, times `scale`, into FP32 row-major `out` (device), on `stream`.
void widen(const std::string& storage, const void* in, index_t rows, index_t cols, index_t ld, float scale, float* out,
           cudaStream_t stream);

inline index_t round_up(index_t x, index_t to) { return (x + to - 1) / to * to; }

}  // namespace pb::gpu::detail
