#include "common/render/mix_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "common/audio/cpu_features.h"

namespace dd::mix {

// Plain loops that vectorise; target_clones adds AVX-512 and AVX2 versions picked at load time on
// CPUs that have them, without raising the build's baseline.
#define DD_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

DD_VECTOR_CLONES void MixInto(float* __restrict destination, const int16_t* __restrict source,
                              int64_t count, float gain) {
  for (int64_t i = 0; i < count; ++i)
    destination[i] += gain * static_cast<float>(source[i]);
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

}  // namespace

namespace internal {
namespace {

// SumScaled's definition for frames [begin, end); the vector versions' remainders too.
void SumScaledFrames(float* acc, const int16_t* const* sources, const float* gains,
                     int source_count, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float sum = 0.0f;
    for (int k = 0; k < source_count;) {
      const float gain = gains[k];
      int32_t frames = 0;
      for (; k < source_count && gains[k] == gain; ++k)
        frames += sources[k][i];
      sum += gain * static_cast<float>(frames);
    }
    acc[i] = sum;
  }
}

}  // namespace

void SumScaledScalar(float* acc, const int16_t* const* sources, const float* gains,
                     int source_count, int64_t count) {
  SumScaledFrames(acc, sources, gains, source_count, 0, count);
}

// The vector versions keep a tile of eight vectors of sums in registers (eight independent sums
// hide the add latency) while every source streams past it. Intrinsics, because GCC 12 widens a
// vector of 16-bit frames in halves (extract, widen, insert) instead of with one widening load.
// The two differ only in width; they are written out twice because intrinsics of one target
// cannot be inlined into a template shared with the other.
__attribute__((target("avx2"))) void SumScaledAvx2(float* __restrict acc,
                                                   const int16_t* const* sources,
                                                   const float* gains, int source_count,
                                                   int64_t count) {
  constexpr int kLanes = 8;
  int64_t i = 0;
  for (; i + 8 * kLanes <= count; i += 8 * kLanes) {
    __m256 sums[8];
    for (__m256& sum : sums)
      sum = _mm256_setzero_ps();
    for (int k = 0; k < source_count;) {
      const float gain = gains[k];
      __m256i frames[8];
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v)
        frames[v] = _mm256_cvtepi16_epi32(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(sources[k] + i + kLanes * v)));
      for (++k; k < source_count && gains[k] == gain; ++k) {
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v)
          frames[v] = _mm256_add_epi32(
              frames[v], _mm256_cvtepi16_epi32(_mm_loadu_si128(
                             reinterpret_cast<const __m128i*>(sources[k] + i + kLanes * v))));
      }
      const __m256 scale = _mm256_set1_ps(gain);
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v)
        sums[v] = _mm256_add_ps(sums[v], _mm256_mul_ps(scale, _mm256_cvtepi32_ps(frames[v])));
    }
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v)
      _mm256_storeu_ps(acc + i + kLanes * v, sums[v]);
  }
  SumScaledFrames(acc, sources, gains, source_count, i, count);
}

// GCC 12's own avx512fintrin.h reads an intentionally undefined register (_mm512_undefined_*),
// which -Wmaybe-uninitialized reports once the intrinsics are inlined here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) void SumScaledAvx512(float* __restrict acc,
                                                        const int16_t* const* sources,
                                                        const float* gains, int source_count,
                                                        int64_t count) {
  constexpr int kLanes = 16;
  int64_t i = 0;
  for (; i + 8 * kLanes <= count; i += 8 * kLanes) {
    __m512 sums[8];
    for (__m512& sum : sums)
      sum = _mm512_setzero_ps();
    for (int k = 0; k < source_count;) {
      const float gain = gains[k];
      __m512i frames[8];
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v)
        frames[v] = _mm512_cvtepi16_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sources[k] + i + kLanes * v)));
      for (++k; k < source_count && gains[k] == gain; ++k) {
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v)
          frames[v] = _mm512_add_epi32(
              frames[v], _mm512_cvtepi16_epi32(_mm256_loadu_si256(
                             reinterpret_cast<const __m256i*>(sources[k] + i + kLanes * v))));
      }
      const __m512 scale = _mm512_set1_ps(gain);
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v)
        sums[v] = _mm512_add_ps(sums[v], _mm512_mul_ps(scale, _mm512_cvtepi32_ps(frames[v])));
    }
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v)
      _mm512_storeu_ps(acc + i + kLanes * v, sums[v]);
  }
  SumScaledFrames(acc, sources, gains, source_count, i, count);
}
#pragma GCC diagnostic pop

}  // namespace internal

void SumScaled(float* acc, const int16_t* const* sources, const float* gains, int source_count,
               int64_t count) {
  using Kernel = void (*)(float*, const int16_t* const*, const float*, int, int64_t);
  static const Kernel sum = CpuHasAvx512() ? internal::SumScaledAvx512
                            : CpuHasAvx2() ? internal::SumScaledAvx2
                                           : internal::SumScaledScalar;
  sum(acc, sources, gains, source_count, count);
}

DD_VECTOR_CLONES float SumParts(float* __restrict out, const float* const* parts, int part_count,
                                int64_t count) {
  typedef int32_t Ints16 __attribute__((vector_size(64)));
  const Ints16 magnitude_bits = Ints16{} + 0x7fffffff;
  Floats16 peak{};
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    Floats16 x = Load16(parts[0] + i);
    for (int p = 1; p < part_count; ++p)
      x += Load16(parts[p] + i);
    Store16(out + i, x);
    const auto magnitude = reinterpret_cast<Floats16>(reinterpret_cast<Ints16>(x) & magnitude_bits);
    peak = peak > magnitude ? peak : magnitude;
  }
  float largest = 0.0f;
  for (int lane = 0; lane < 16; ++lane)
    largest = std::max(largest, peak[lane]);
  for (; i < count; ++i) {
    float x = parts[0][i];
    for (int p = 1; p < part_count; ++p)
      x += parts[p][i];
    out[i] = x;
    largest = std::max(largest, std::fabs(x));
  }
  return largest;
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
