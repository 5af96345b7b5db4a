// Basic types shared by every kernel: indices, aligned buffers, seeded random inputs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>

namespace pb {

using index_t = std::int64_t;

// 64-byte aligned so vector loads never split a cache line and kernels may assume full-line alignment.
// kPageAligned instead starts the data on a page: the benchmarks' operands, so that where one lies against another
// modulo 4 KiB is fixed rather than whatever the heap gives (see docs/design.md, "Operand placement").
constexpr std::size_t kCacheLineAligned = 64, kPageAligned = 4096;
template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n, std::size_t align = kCacheLineAligned) : align_(align) { resize(n); }
  void resize(std::size_t n) {
    if (n == n_) return;
    std::size_t bytes = ((n * sizeof(T) + align_ - 1) / align_) * align_;
    T* p = bytes ? static_cast<T*>(std::aligned_alloc(align_, bytes)) : nullptr;
    if (bytes && !p) throw std::bad_alloc();
    ptr_.reset(p);
    n_ = n;
  }
  // Grows only: reusable scratch (packing panels) keeps its pages between calls.
  void reserve_at_least(std::size_t n) {
    if (n > n_) resize(n);
  }
  T* data() { return ptr_.get(); }
  const T* data() const { return ptr_.get(); }
  std::size_t size() const { return n_; }
  T& operator[](std::size_t i) { return ptr_.get()[i]; }
  const T& operator[](std::size_t i) const { return ptr_.get()[i]; }
  std::span<T> span() { return {data(), n_}; }
  std::span<const T> span() const { return {data(), n_}; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> ptr_;
  std::size_t n_ = 0;
  std::size_t align_ = kCacheLineAligned;
};

// Uniform magnitudes in [0.25, 1] with a random sign: never zero (a zero operand can take fast paths in
// hardware and would make a sparse pattern out of a dense one), and well away from denormals.
void fill_random(std::span<float> out, std::uint64_t seed);
// Standard normal values: what trained weights and activations look like. Their bit patterns toggle a tensor
// core's multipliers differently from fill_random's, so its power and clock can differ (the gpu profile's
// "gemm_inputs" measures both).
void fill_normal(std::span<float> out, std::uint64_t seed);

}  // namespace pb
