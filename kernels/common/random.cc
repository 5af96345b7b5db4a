#include <random>

#include "prunebench/types.h"

namespace pb {

void fill_random(std::span<float> out, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> mag(0.25f, 1.0f);
  for (float& x : out) {
    float m = mag(gen);
    x = (gen() & 1) ? m : -m;
  }
}

void fill_normal(std::span<float> out, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (float& x : out) x = n(gen);
}

}  // namespace pb
