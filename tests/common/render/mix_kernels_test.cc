#include "common/render/mix_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace dd::mix {
namespace {

// Segments that start before, inside and across block boundaries, overlap each other and arrive
// out of order: the blocked mix must equal, bit for bit, mixing each whole segment in turn with
// the same kernel, in order of first frame (ties in the order given).
TEST(MixSegmentsTest, EqualsOneLoopPerSegmentInGivenOrder) {
  std::mt19937 random(7);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  const int64_t size = 5 * kBlockFrames + 123;
  std::vector<std::vector<float>> sources;
  std::vector<Segment> segments;
  std::uniform_int_distribution<int64_t> first(0, size - 1);
  for (int s = 0; s < 40; ++s) {
    const int64_t start = s == 0 ? 0 : first(random);
    const int64_t count = std::uniform_int_distribution<int64_t>(1, size - start)(random);
    sources.emplace_back(count);
    for (float& v : sources.back())
      v = value(random);
    segments.push_back({start, sources.back().data(), count, value(random)});
  }
  // Several segments on the same first frame: their order must be kept.
  segments.push_back({kBlockFrames, sources[1].data(), 10, 0.5f});
  segments.push_back({kBlockFrames, sources[2].data(), 10, -0.25f});

  std::vector<Segment> by_first = segments;
  std::stable_sort(by_first.begin(), by_first.end(),
                   [](const Segment& a, const Segment& b) { return a.first < b.first; });
  std::vector<float> expected(size, 0.0f);
  for (const Segment& s : by_first)
    MixInto(expected.data() + s.first, s.source, s.count, s.gain);

  std::vector<float> mixed(size, 0.0f);
  MixSegments(segments, mixed.data(), size);
  ASSERT_EQ(mixed.size(), expected.size());
  for (int64_t i = 0; i < size; ++i)
    ASSERT_EQ(mixed[i], expected[i]) << "frame " << i;
}

TEST(MixSegmentsTest, NoSegmentsLeavesTheBufferAlone) {
  std::vector<float> buffer(3 * kBlockFrames, 0.75f);
  std::vector<Segment> none;
  MixSegments(none, buffer.data(), static_cast<int64_t>(buffer.size()));
  for (float v : buffer)
    ASSERT_EQ(v, 0.75f);
}

TEST(MixIntoTest, AddsTheScaledSource) {
  std::vector<float> destination(37);
  std::vector<float> source(37);
  for (size_t i = 0; i < source.size(); ++i) {
    destination[i] = 0.1f * static_cast<float>(i);
    source[i] = 1.0f - 0.05f * static_cast<float>(i);
  }
  std::vector<float> expected = destination;
  for (size_t i = 0; i < source.size(); ++i)
    expected[i] += 0.5f * source[i];
  MixInto(destination.data(), source.data(), static_cast<int64_t>(source.size()), 0.5f);
  for (size_t i = 0; i < source.size(); ++i)
    // Near, not equal: this file's own loop may be built with a fused multiply-add.
    EXPECT_NEAR(destination[i], expected[i], 1e-6f) << i;
}

TEST(ClipTest, CountsAndClampsOnlyBeyondFullScale) {
  const std::vector<float> source = {0.0f, 1.0f, -1.0f, 1.5f, -2.0f, 0.999f, 3.0f};
  const std::vector<float> clamped = {0.0f, 1.0f, -1.0f, 1.0f, -1.0f, 0.999f, 1.0f};
  std::vector<float> in_place = source;
  EXPECT_EQ(ClipInPlace(in_place.data(), static_cast<int64_t>(in_place.size())), 3);
  EXPECT_EQ(in_place, clamped);
}

// Three chunks of sources at odd offsets, four ranges (one of them written to two destinations)
// over a length that takes every path of the kernel (tiles of 64 frames, single vectors, single
// frames): each destination must equal, bit for bit, the plain sum of its range's chunks in
// chunk order, each chunk summed in source order, and each peak must be the largest magnitude.
TEST(FoldSpanTest, EqualsThePlainSumsInOrderOnEveryPath) {
  std::mt19937 random(3);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  const int64_t count = 3 * 64 + 2 * 16 + 11;
  std::vector<std::vector<float>> storage(7, std::vector<float>(count + 5));
  for (std::vector<float>& source : storage) {
    for (float& v : source)
      v = value(random);
  }
  const std::vector<std::vector<size_t>> chunk_sources = {{0, 1, 2}, {3}, {4, 5, 6}};
  std::vector<std::vector<const float*>> pointers(chunk_sources.size());
  std::vector<std::vector<float>> gains(chunk_sources.size());
  std::vector<SpanChunk> chunks;
  for (size_t c = 0; c < chunk_sources.size(); ++c) {
    for (size_t k : chunk_sources[c]) {
      pointers[c].push_back(storage[k].data() + k % 5);
      gains[c].push_back(value(random));
    }
    chunks.push_back({pointers[c].data(), gains[c].data(), static_cast<int>(pointers[c].size())});
  }
  const int firsts[] = {0, 0, 1, 2};
  const int lasts[] = {0, 2, 2, 2};
  std::vector<std::vector<float>> outputs(5, std::vector<float>(count, -7.0f));
  float* destinations[] = {outputs[0].data(), outputs[1].data(), outputs[2].data(),
                           outputs[3].data(), outputs[4].data()};
  const SpanRange ranges[] = {{firsts[0], lasts[0], destinations, 1},
                              {firsts[1], lasts[1], destinations + 1, 2},
                              {firsts[2], lasts[2], destinations + 3, 1},
                              {firsts[3], lasts[3], destinations + 4, 1}};
  float peaks[kMaxSpanRanges];
  FoldSpan(chunks.data(), ranges, 4, count, peaks);

  const int destination_range[] = {0, 1, 1, 2, 3};
  float expected_peaks[4] = {};
  for (int64_t i = 0; i < count; ++i) {
    std::vector<float> chunk_sums;
    for (const SpanChunk& chunk : chunks) {
      float sum = 0.0f;
      for (int k = 0; k < chunk.source_count; ++k) {
        const float term = chunk.gains[k] * chunk.sources[k][i];  // Rounded apart, as the kernel.
        sum += term;
      }
      chunk_sums.push_back(sum);
    }
    for (int d = 0; d < 5; ++d) {
      const int r = destination_range[d];
      float expected = 0.0f;
      for (int c = firsts[r]; c <= lasts[r]; ++c)
        expected += chunk_sums[static_cast<size_t>(c)];
      ASSERT_EQ(outputs[static_cast<size_t>(d)][i], expected)
          << "destination " << d << " frame " << i;
      expected_peaks[r] = std::max(expected_peaks[r], std::fabs(expected));
    }
  }
  for (int r = 0; r < 4; ++r)
    EXPECT_EQ(peaks[r], expected_peaks[r]) << "range " << r;
}

// A chunk with no sources sums to silence, and the peak comes from the frames the call wrote.
TEST(FoldSpanTest, ChunkWithoutSourcesIsSilence) {
  std::vector<float> out(40, 3.0f);
  float* destination = out.data();
  const SpanChunk empty;
  const SpanRange range{0, 0, &destination, 1};
  float peak = -1.0f;
  FoldSpan(&empty, &range, 1, 37, &peak);
  for (int i = 0; i < 37; ++i)
    ASSERT_EQ(out[static_cast<size_t>(i)], 0.0f) << i;
  EXPECT_EQ(out[37], 3.0f) << "nothing written past count";
  EXPECT_EQ(peak, 0.0f);
}

}  // namespace
}  // namespace dd::mix
