#include <numeric>
#include <random>
#include <vector>

#include "prunebench/memory.h"

namespace pb {

void build_chase_ring(void* buf, std::size_t lines, std::size_t stride, bool random, std::uint64_t seed) {
  char* base = static_cast<char*>(buf);
  auto slot = [&](std::size_t i) { return reinterpret_cast<void**>(base + i * stride); };
  if (lines == 0) return;
  if (!random) {
    for (std::size_t i = 0; i < lines; ++i) *slot(i) = slot((i + 1) % lines);
    return;
  }
  // Sattolo's algorithm: a uniformly random permutation with exactly one cycle, so the chase visits every
  // line before it repeats (a plain shuffle would leave short cycles that live in a smaller cache level).
  std::vector<std::size_t> order(lines);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 gen(seed);
  for (std::size_t i = lines - 1; i > 0; --i) std::swap(order[i], order[gen() % i]);
  for (std::size_t i = 0; i < lines; ++i) *slot(order[i]) = slot(order[(i + 1) % lines]);
}

void* chase(void* p, std::int64_t steps) {
  std::int64_t s = 0;
  for (; s + 8 <= steps; s += 8) {
#pragma GCC unroll 8
    for (int u = 0; u < 8; ++u) p = *static_cast<void**>(p);
  }
  for (; s < steps; ++s) p = *static_cast<void**>(p);
  return p;
}

}  // namespace pb
