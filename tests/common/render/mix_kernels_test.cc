#include "common/render/mix_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/audio/cpu_features.h"

namespace dd::mix {
namespace {

// Segments that start before, inside and across block boundaries, overlap each other and arrive
// out of order: the blocked mix must equal, bit for bit, mixing each whole segment in turn with
// the same kernel, in order of first frame (ties in the order given).
TEST(MixSegmentsTest, EqualsOneLoopPerSegmentInGivenOrder) {
  std::mt19937 random(7);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::uniform_int_distribution<int> frame(-32768, 32767);
  const int64_t size = 5 * kBlockFrames + 123;
  std::vector<std::vector<int16_t>> sources;
  std::vector<Segment> segments;
  std::uniform_int_distribution<int64_t> first(0, size - 1);
  for (int s = 0; s < 40; ++s) {
    const int64_t start = s == 0 ? 0 : first(random);
    const int64_t count = std::uniform_int_distribution<int64_t>(1, size - start)(random);
    sources.emplace_back(count);
    for (int16_t& v : sources.back())
      v = static_cast<int16_t>(frame(random));
    segments.push_back({start, sources.back().data(), count, value(random) / 32768.0f});
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
  std::vector<int16_t> source(37);
  for (size_t i = 0; i < source.size(); ++i) {
    destination[i] = 0.1f * static_cast<float>(i);
    source[i] = static_cast<int16_t>(32767 - 1800 * static_cast<int>(i));
  }
  source[5] = -32768;
  std::vector<float> expected = destination;
  const float gain = 0.5f / 32768.0f;
  for (size_t i = 0; i < source.size(); ++i)
    expected[i] += gain * static_cast<float>(source[i]);
  MixInto(destination.data(), source.data(), static_cast<int64_t>(source.size()), gain);
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

// SumScaled and each of its versions this CPU can run.
std::vector<
    std::pair<std::string, void (*)(float*, const int16_t* const*, const float*, int, int64_t)>>
SumScaledVersions() {
  std::vector<
      std::pair<std::string, void (*)(float*, const int16_t* const*, const float*, int, int64_t)>>
      versions = {{"SumScaled", SumScaled}, {"scalar", internal::SumScaledScalar}};
  if (CpuHasAvx2()) versions.emplace_back("avx2", internal::SumScaledAvx2);
  if (CpuHasAvx512()) versions.emplace_back("avx512", internal::SumScaledAvx512);
  return versions;
}

// SumScaled's definition, one frame at a time in 64-bit integers and double, which are exact here
// and so check the kernels' run-by-run integer sums; each run's scaled sum is rounded to float
// and added in float, as the kernels do.
std::vector<float> SumScaledByDefinition(const std::vector<const int16_t*>& sources,
                                         const std::vector<float>& gains, int64_t count) {
  std::vector<float> acc(count);
  for (int64_t i = 0; i < count; ++i) {
    float sum = 0.0f;
    for (size_t k = 0; k < sources.size();) {
      int64_t run = 0;
      const size_t start = k;
      for (; k < sources.size() && gains[k] == gains[start]; ++k)
        run += sources[k][i];
      sum += static_cast<float>(static_cast<double>(gains[start]) * static_cast<double>(run));
    }
    acc[i] = sum;
  }
  return acc;
}

// Sources at odd offsets, the extreme 16-bit values, runs of equal gains of one, two and three
// sources (a run of 32767s overflows 16 bits), and lengths that are no multiple of the kernels'
// tiles or vector widths: every version must equal the definition bit for bit.
TEST(SumScaledTest, EveryVersionEqualsTheDefinition) {
  std::mt19937 random(3);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::uniform_int_distribution<int> frame(-32768, 32767);
  for (int64_t count : {int64_t{3 * 128 + 57}, int64_t{64}, int64_t{7}, int64_t{1024}}) {
    std::vector<std::vector<int16_t>> storage(9, std::vector<int16_t>(count + 5));
    std::vector<const int16_t*> sources;
    std::vector<float> gains;
    for (size_t k = 0; k < storage.size(); ++k) {
      for (int16_t& v : storage[k])
        v = static_cast<int16_t>(frame(random));
      sources.push_back(storage[k].data() + k % 5);
      // Runs: {0}, {1, 2}, {3}, {4, 5, 6}, {7}, {8}.
      const bool joins_previous = k == 2 || k == 5 || k == 6;
      gains.push_back(joins_previous ? gains.back() : value(random) / 32768.0f);
    }
    for (size_t k = 4; k <= 6; ++k)
      storage[k][k % 5] = 32767;  // Frame 0 of the run of three sums beyond 16 bits.
    const std::vector<float> expected = SumScaledByDefinition(sources, gains, count);
    for (const auto& [name, sum_scaled] : SumScaledVersions()) {
      std::vector<float> sum(count, -7.0f);
      sum_scaled(sum.data(), sources.data(), gains.data(), static_cast<int>(sources.size()), count);
      for (int64_t i = 0; i < count; ++i)
        ASSERT_EQ(sum[i], expected[i]) << name << ", " << count << " frames, frame " << i;
      sum_scaled(sum.data(), sources.data(), gains.data(), 0, count);
      for (float v : sum)
        ASSERT_EQ(v, 0.0f) << name << ": no sources is silence";
    }
  }
}

// A run's frames are added before they are scaled: 7 + 11 - 18 at gain 0.1 is exactly zero,
// where adding the three rounded products in float is not.
TEST(SumScaledTest, ARunOfEqualGainsIsSummedExactlyFirst) {
  const std::vector<int16_t> a(200, 7), b(200, 11), c(200, -18);
  const std::vector<const int16_t*> sources = {a.data(), b.data(), c.data()};
  const std::vector<float> gains(3, 0.1f);
  volatile float gain = 0.1f;  // Keeps the compiler from folding the check below.
  const float products_in_float = (gain * 7.0f + gain * 11.0f) + gain * -18.0f;
  ASSERT_NE(products_in_float, 0.0f) << "the check below would not tell the two apart";
  for (const auto& [name, sum_scaled] : SumScaledVersions()) {
    std::vector<float> sum(200, -7.0f);
    sum_scaled(sum.data(), sources.data(), gains.data(), 3, 200);
    for (float v : sum)
      ASSERT_EQ(v, 0.0f) << name;
  }
}

TEST(SumPartsTest, AddsInOrderAndReportsThePeak) {
  const int64_t count = 37;  // Two vectors and a scalar remainder.
  std::vector<float> a(count), b(count), c(count);
  for (int64_t i = 0; i < count; ++i) {
    a[i] = 0.01f * static_cast<float>(i);
    b[i] = -0.02f * static_cast<float>(i);
    c[i] = 0.5f;
  }
  c[35] = -2.0f;  // The peak, in the scalar remainder.
  const float* parts[] = {a.data(), b.data(), c.data()};
  std::vector<float> out(count);
  EXPECT_EQ(SumParts(out.data(), parts, 3, count), std::fabs((a[35] + b[35]) + c[35]));
  for (int64_t i = 0; i < count; ++i)
    ASSERT_EQ(out[i], (a[i] + b[i]) + c[i]) << i;
  c[35] = 0.5f;
  c[3] = 1.75f;  // Now in the vector part.
  EXPECT_EQ(SumParts(out.data(), parts, 3, count), (a[3] + b[3]) + c[3]);
  EXPECT_EQ(SumParts(out.data(), parts, 1, count), a[36]) << "one part is a copy";
  EXPECT_EQ(out, a);
}

}  // namespace
}  // namespace dd::mix
