#include "common/random/rng.h"

#include <cmath>

namespace dd {
namespace {
__extension__ typedef unsigned __int128 Uint128;
}  // namespace

uint64_t Rng::UniformIndex(uint64_t n) {
  Uint128 product = static_cast<Uint128>(engine_()) * n;
  uint64_t low = static_cast<uint64_t>(product);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      product = static_cast<Uint128>(engine_()) * n;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

double Rng::Normal(double mean, double stddev) {
  // 1 - U keeps the logarithm's argument in (0, 1].
  const double u1 = 1.0 - Uniform01();
  const double u2 = Uniform01();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  return mean + stddev * radius * std::cos(2.0 * M_PI * u2);
}

}  // namespace dd
