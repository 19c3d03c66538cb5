#include "common/render/mix_kernels.h"

#include <algorithm>

namespace dd::mix {

// Plain loops that vectorise; target_clones adds AVX-512 and AVX2 versions picked at load time on
// CPUs that have them, without raising the build's baseline.
#define DD_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

DD_VECTOR_CLONES void MixInto(float* __restrict destination, const float* __restrict source,
                              int64_t count, float gain) {
  for (int64_t i = 0; i < count; ++i)
    destination[i] += gain * source[i];
}

DD_VECTOR_CLONES void AddInto(float* __restrict destination, const float* __restrict source,
                              int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    destination[i] += source[i];
}

// x clamped to [-1, 1], adding 1 to `clipped` when it was beyond. Branch-free so the loops that
// call it vectorise; the count is 32-bit per lane (a clip is far below 2^31 frames).
inline float Clamp(float x, int32_t& clipped) {
  clipped += (x > 1.0f) | (x < -1.0f);
  return x > 1.0f ? 1.0f : (x < -1.0f ? -1.0f : x);
}

DD_VECTOR_CLONES int64_t CopyClipped(float* __restrict out, const float* __restrict source,
                                     int64_t count) {
  int32_t clipped = 0;
  for (int64_t i = 0; i < count; ++i)
    out[i] = Clamp(source[i], clipped);
  return clipped;
}

DD_VECTOR_CLONES int64_t ClipInPlace(float* __restrict pcm, int64_t count) {
  int32_t clipped = 0;
  for (int64_t i = 0; i < count; ++i)
    pcm[i] = Clamp(pcm[i], clipped);
  return clipped;
}

void MixSegments(std::vector<Segment>& segments, float* destination, int64_t size) {
  std::stable_sort(segments.begin(), segments.end(),
                   [](const Segment& a, const Segment& b) { return a.first < b.first; });
  std::vector<const Segment*> active;
  active.reserve(segments.size());
  size_t next = 0;
  for (int64_t block = 0; block < size; block += kBlockFrames) {
    const int64_t block_end = std::min(block + kBlockFrames, size);
    while (next < segments.size() && segments[next].first < block_end)
      active.push_back(&segments[next++]);
    size_t kept = 0;
    for (const Segment* segment : active) {
      const int64_t segment_end = segment->first + segment->count;
      const int64_t from = std::max(block, segment->first);
      const int64_t to = std::min(block_end, segment_end);
      if (from < to) {
        MixInto(destination + from, segment->source + (from - segment->first), to - from,
                segment->gain);
      }
      if (segment_end > block_end) active[kept++] = segment;
    }
    active.resize(kept);
  }
}

}  // namespace dd::mix
