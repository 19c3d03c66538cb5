#include "common/render/mix_kernels.h"

#include <algorithm>
#include <cmath>

namespace dd::mix {

// Plain loops that vectorise; target_clones adds AVX-512 and AVX2 versions picked at load time on
// CPUs that have them, without raising the build's baseline.
#define DD_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

DD_VECTOR_CLONES void MixInto(float* __restrict destination, const float* __restrict source,
                              int64_t count, float gain) {
  for (int64_t i = 0; i < count; ++i)
    destination[i] += gain * source[i];
}

namespace {

// Sixteen floats, one AVX-512 register (two AVX2 or four SSE registers in the other clones).
typedef float Floats16 __attribute__((vector_size(64)));

inline Floats16 Load16(const float* from) {
  Floats16 v;
  __builtin_memcpy(&v, from, sizeof v);
  return v;
}

inline void Store16(float* to, Floats16 v) {
  __builtin_memcpy(to, &v, sizeof v);
}

// FoldSpan's arithmetic is written once for a vector of 16 frames and for one frame (a span's
// last few), so both take each frame's sum in the same order.
inline Floats16 LoadAs(const float* from, Floats16) {
  return Load16(from);
}
inline float LoadAs(const float* from, float) {
  return *from;
}
inline void StoreAs(float* to, Floats16 v) {
  Store16(to, v);
}
inline void StoreAs(float* to, float v) {
  *to = v;
}
inline Floats16 Magnitude(Floats16 v) {
  typedef int32_t Ints16 __attribute__((vector_size(64)));
  return reinterpret_cast<Floats16>(reinterpret_cast<Ints16>(v) & (Ints16{} + 0x7fffffff));
}
inline float Magnitude(float v) {
  return std::fabs(v);
}
template <typename Vec>
constexpr int64_t kFramesPer = sizeof(Vec) / sizeof(float);

// Frames [i, i + V * frames per Vec) of every range; raises each range's peaks to the
// magnitudes it wrote.
template <typename Vec, int V>
inline void FoldTile(const SpanChunk* chunks, const SpanRange* ranges, int range_count,
                     int first_chunk, int last_chunk, int64_t i, Vec (&peaks)[kMaxSpanRanges]) {
  constexpr int64_t kStride = kFramesPer<Vec>;
  Vec sums[kMaxSpanRanges][V] = {};
  for (int c = first_chunk; c <= last_chunk; ++c) {
    const SpanChunk& chunk = chunks[c];
    Vec a[V] = {};
    for (int k = 0; k < chunk.source_count; ++k) {
      const float* source = chunk.sources[k] + i;
      const Vec gain = Vec{} + chunk.gains[k];
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v)
        a[v] += gain * LoadAs(source + kStride * v, Vec{});
    }
#pragma GCC unroll 4
    for (int r = 0; r < kMaxSpanRanges; ++r) {
      if (r >= range_count || c < ranges[r].first_chunk || c > ranges[r].last_chunk) continue;
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v)
        sums[r][v] += a[v];
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < kMaxSpanRanges; ++r) {
    if (r >= range_count) continue;
    // A tree, so each tile adds one step to the running peak's dependency chain, not V.
    Vec magnitudes[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
      magnitudes[v] = Magnitude(sums[r][v]);
#pragma GCC unroll 8
    for (int width = V / 2; width > 0; width /= 2) {
#pragma GCC unroll 8
      for (int v = 0; v < width; ++v)
        magnitudes[v] =
            magnitudes[v] > magnitudes[v + width] ? magnitudes[v] : magnitudes[v + width];
    }
    peaks[r] = peaks[r] > magnitudes[0] ? peaks[r] : magnitudes[0];
    for (int d = 0; d < ranges[r].destination_count; ++d) {
      float* out = ranges[r].destinations[d] + i;
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v)
        StoreAs(out + kStride * v, sums[r][v]);
    }
  }
}

}  // namespace

DD_VECTOR_CLONES void FoldSpan(const SpanChunk* chunks, const SpanRange* ranges, int range_count,
                               int64_t count, float* peaks) {
  int first_chunk = ranges[0].first_chunk;
  int last_chunk = ranges[0].last_chunk;
  for (int r = 1; r < range_count; ++r) {
    first_chunk = std::min(first_chunk, ranges[r].first_chunk);
    last_chunk = std::max(last_chunk, ranges[r].last_chunk);
  }
  // Tiles of four vectors: four ranges' sums, a chunk's sum and a gain fit the 32 AVX-512
  // registers.
  Floats16 vector_peaks[kMaxSpanRanges] = {};
  int64_t i = 0;
  for (; i + 64 <= count; i += 64)
    FoldTile<Floats16, 4>(chunks, ranges, range_count, first_chunk, last_chunk, i, vector_peaks);
  for (; i + 16 <= count; i += 16)
    FoldTile<Floats16, 1>(chunks, ranges, range_count, first_chunk, last_chunk, i, vector_peaks);
  float frame_peaks[kMaxSpanRanges] = {};
  for (; i < count; ++i)
    FoldTile<float, 1>(chunks, ranges, range_count, first_chunk, last_chunk, i, frame_peaks);
  for (int r = 0; r < range_count; ++r) {
    float largest = frame_peaks[r];
    for (int lane = 0; lane < 16; ++lane)
      largest = std::max(largest, vector_peaks[r][lane]);
    peaks[r] = largest;
  }
}

// x clamped to [-1, 1], adding 1 to `clipped` when it was beyond. Branch-free so the loop that
// calls it vectorises; the count is 32-bit per lane (a clip is far below 2^31 frames).
inline float Clamp(float x, int32_t& clipped) {
  clipped += (x > 1.0f) | (x < -1.0f);
  return x > 1.0f ? 1.0f : (x < -1.0f ? -1.0f : x);
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
