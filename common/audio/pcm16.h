// Float audio to 16-bit PCM, done here rather than by libsndfile: its converter is a scalar loop
// that took most of the time of encoding a 9 s loop, and its WAV and FLAC writers round
// differently (WAV floors, FLAC rounds). One converter gives both formats the same samples.
#pragma once

#include <cstdint>

namespace dd {

// out[i] = round-half-even(in[i] * 32768), clamped to [-32768, 32767]; NaN becomes 32767.
// Uses the widest version below that the CPU supports; all give the same samples.
void FloatToPcm16(const float* in, int16_t* out, int64_t count);

namespace internal {

// The versions FloatToPcm16 picks from, exposed so that tests can check each one the CPU runs
// (cpu_features.h).
void FloatToPcm16Scalar(const float* in, int16_t* out, int64_t count);
void FloatToPcm16Avx2(const float* in, int16_t* out, int64_t count);    // Needs CpuHasAvx2().
void FloatToPcm16Avx512(const float* in, int16_t* out, int64_t count);  // Needs CpuHasAvx512().

}  // namespace internal
}  // namespace dd
