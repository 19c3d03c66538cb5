// The renderer's inner loops: adding scaled samples into a buffer, summing bars, clipping. Kept
// apart from the render policy so their speed can be worked on (and their vector versions chosen
// at load time) without touching what a render means.
#pragma once

#include <cstdint>
#include <vector>

namespace dd::mix {

// One sample (or a piece of one) to add into a destination buffer: destination[first + i] +=
// gain * source[i] for i in [0, count). Sources are 16-bit frames (a sample's MixPcm) and the
// gain carries their scale.
struct Segment {
  int64_t first = 0;
  const int16_t* source = nullptr;
  int64_t count = 0;
  float gain = 1.0f;
};

// destination[i] += gain * source[i].
void MixInto(float* destination, const int16_t* source, int64_t count, float gain);

// acc[i] = sum of gains[k] * sources[k][i] over k in [0, source_count), for i in [0, count), taken
// run by run: each run of consecutive sources with equal gains has its 16-bit frames added
// exactly as integers, then scaled by the gain once and added to the float sum, runs in order.
// Callers put equal gains side by side (a track's hits share one), which saves a conversion and
// a multiply per source frame. The running sums stay in registers across all sources, so each
// source frame is read once and each acc frame written once. Uses the widest version below that
// the CPU supports; all give the same bits.
void SumScaled(float* acc, const int16_t* const* sources, const float* gains, int source_count,
               int64_t count);

// out[i] = parts[0][i] + parts[1][i] + ... (in that order) for i in [0, count), part_count >= 1.
// Returns the largest |out[i]|, so a caller can skip clipping where nothing is beyond full scale.
float SumParts(float* out, const float* const* parts, int part_count, int64_t count);

// Adds every segment into destination[0, size); segments must lie inside it. The buffer is
// walked in blocks small enough to stay in L1 while every segment that overlaps a block streams
// past it, so a bar's worth of accumulation is read and written once from cache instead of once
// per hit. Per frame, contributions are added in order of first frame, ties in the order given
// (the segments are stably sorted in place), so the result does not depend on the blocking.
void MixSegments(std::vector<Segment>& segments, float* destination, int64_t size);

// Clamps pcm to [-1, 1] in place; returns how many samples were beyond full scale.
int64_t ClipInPlace(float* pcm, int64_t count);

// Frames per block of the blocked loops: 8 KiB of floats, a quarter of a 32 KiB L1.
inline constexpr int64_t kBlockFrames = 2048;

namespace internal {

// The versions SumScaled picks from, exposed so that tests can check each one the CPU runs
// (common/audio/cpu_features.h).
void SumScaledScalar(float* acc, const int16_t* const* sources, const float* gains,
                     int source_count, int64_t count);
void SumScaledAvx2(float* acc, const int16_t* const* sources, const float* gains, int source_count,
                   int64_t count);  // Needs CpuHasAvx2().
void SumScaledAvx512(float* acc, const int16_t* const* sources, const float* gains,
                     int source_count, int64_t count);  // Needs CpuHasAvx512().

}  // namespace internal

}  // namespace dd::mix
