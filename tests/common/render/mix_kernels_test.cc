#include "common/render/mix_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  std::vector<float> copied(source.size());
  EXPECT_EQ(CopyClipped(copied.data(), source.data(), static_cast<int64_t>(source.size())), 3);
  const std::vector<float> clamped = {0.0f, 1.0f, -1.0f, 1.0f, -1.0f, 0.999f, 1.0f};
  EXPECT_EQ(copied, clamped);

  std::vector<float> in_place = source;
  EXPECT_EQ(ClipInPlace(in_place.data(), static_cast<int64_t>(in_place.size())), 3);
  EXPECT_EQ(in_place, clamped);
}

TEST(AddIntoTest, AddsElementwise) {
  std::vector<float> destination = {1.0f, 2.0f, 3.0f};
  const std::vector<float> source = {0.5f, -2.0f, 4.0f};
  AddInto(destination.data(), source.data(), 3);
  EXPECT_EQ(destination, (std::vector<float>{1.5f, 0.0f, 7.0f}));
}

}  // namespace
}  // namespace dd::mix
