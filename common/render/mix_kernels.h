// The renderer's inner loops: adding scaled samples into a buffer, folding a bar's mix into the
// bars of a loop, clipping. Kept apart from the render policy so their speed can be worked on
// (and their vector versions chosen at load time) without touching what a render means.
#pragma once

#include <cstdint>
#include <vector>

namespace dd::mix {

// One sample (or a piece of one) to add into a destination buffer: destination[first + i] +=
// gain * source[i] for i in [0, count).
struct Segment {
  int64_t first = 0;
  const float* source = nullptr;
  int64_t count = 0;
  float gain = 1.0f;
};

// destination[i] += gain * source[i].
void MixInto(float* destination, const float* source, int64_t count, float gain);

// What FoldSpan sums for one chunk of a folded bar (see folded_bar.h) over a span of frames:
// sources[k][i] for span frame i, at gains[k], added in order of k.
struct SpanChunk {
  const float* const* sources = nullptr;
  const float* gains = nullptr;
  int source_count = 0;
};

// One output of FoldSpan: the sum of chunks [first_chunk, last_chunk], each chunk's sum taken
// first, added in order of chunk, written to every destination (each at the span's first frame).
struct SpanRange {
  int first_chunk = 0;
  int last_chunk = 0;
  float* const* destinations = nullptr;
  int destination_count = 0;
};

// The most ranges one FoldSpan call takes: their sums and a chunk's sum fit the vector registers.
inline constexpr int kMaxSpanRanges = 4;

// For each of range_count (1 to kMaxSpanRanges) ranges, writes its sum over frames [0, count) to
// its destinations and its largest magnitude to peaks[r]. Every source frame is read once per
// call and every destination frame written once: the sums stay in registers, so bars of a loop
// that hear the same chunks cost one store each and are never copied or read back. Each frame's
// sum is taken in the same order whatever its position in the span, so how a bar is cut into
// spans does not change a bit of it.
void FoldSpan(const SpanChunk* chunks, const SpanRange* ranges, int range_count, int64_t count,
              float* peaks);

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

}  // namespace dd::mix
