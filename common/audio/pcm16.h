// Float audio to 16-bit PCM, done here rather than by libsndfile: its converter is a scalar loop
// that took most of the time of encoding a 9 s loop, and its WAV and FLAC writers round
// differently (WAV floors, FLAC rounds). One converter gives both formats the same samples.
#pragma once

#include <cstdint>

namespace dd {

// out[i] = round-half-even(in[i] * 32768), clamped to [-32768, 32767]; NaN becomes 32767.
void FloatToPcm16(const float* in, int16_t* out, int64_t count);

}  // namespace dd
