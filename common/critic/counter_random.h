// Random numbers from a counter-based stream: value i is a hash (Rng::SplitMix) of seed + i, so big
// tensors fill in parallel and come out the same whatever the thread count. One 64-bit seed per
// tensor is drawn from the critic's own generator, which keeps training reproducible. LibTorch's
// seeded CPU draws are serial: its randn took 4.8 ms for one minibatch's noise, ~10% of a
// bfloat16 training step.
#pragma once

#include <cstdint>

#include <ATen/core/Generator.h>
#include <c10/util/ArrayRef.h>

namespace at {
class Tensor;
}

namespace dd::critic {

// A 64-bit seed for one counter-based tensor, from `generator`.
uint64_t DrawSeed(at::Generator& generator);

// float32 N(0, 1) values on the CPU (Box-Muller over pairs of 32-bit uniforms in (0, 1]).
at::Tensor CounterNormal(c10::IntArrayRef sizes, uint64_t seed);

}  // namespace dd::critic
