// A seedable random source with distributions defined here rather than by the standard library,
// whose std::uniform_real_distribution and friends may differ between implementations. The same
// seed gives the same draws on every platform, which makes sampling and tests reproducible.
#pragma once

#include <cstdint>
#include <random>

namespace dd {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t NextU64() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform01() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // True with probability p.
  bool Bernoulli(double p) { return Uniform01() < p; }
  // Uniform integer in [0, n); n must be > 0. Lemire's multiply-shift, with rejection so that
  // every value is exactly equally likely.
  uint64_t UniformIndex(uint64_t n);
  // Standard normal by the Box-Muller transform.
  double Normal(double mean, double stddev);

  // A seed for a child generator, so that independent streams (one per chain, say) can be
  // derived from one request seed.
  uint64_t Fork() { return SplitMix(engine_()); }

  static uint64_t SplitMix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace dd
