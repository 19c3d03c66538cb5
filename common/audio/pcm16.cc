#include "common/audio/pcm16.h"

#include <cmath>

namespace dd {

// AVX-512 and AVX2 versions picked at load time; the plain loop vectorises in each.
__attribute__((target_clones("avx512f", "avx2", "default"))) void FloatToPcm16(
    const float* __restrict in, int16_t* __restrict out, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    float scaled = in[i] * 32768.0f;
    // Written so that NaN fails the first test and is replaced.
    scaled = scaled < 32767.0f ? scaled : 32767.0f;
    scaled = scaled > -32768.0f ? scaled : -32768.0f;
    out[i] = static_cast<int16_t>(static_cast<int32_t>(std::rint(scaled)));
  }
}

}  // namespace dd
