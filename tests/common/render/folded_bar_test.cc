#include "common/render/folded_bar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace dd::mix {
namespace {

// One bar's hits over sources long enough to ring for several bars, with a bar length that is no
// multiple of the mixer's block, hits on the first and last frames of the bar, and two hits on
// one frame.
struct Hits {
  int64_t bar = 3000 + 17;
  std::vector<std::vector<int16_t>> sources;
  std::vector<Segment> segments;
};

// Gain of a source frame of 2^15 units, as a sample's MixPcm scale makes it.
constexpr float kUnit = 1.0f / 32768.0f;

Hits MakeHits(uint32_t seed, int64_t bar = 3000 + 17) {
  Hits hits;
  hits.bar = bar;
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> value(-0.6f, 0.6f);
  std::uniform_int_distribution<int> frame(-20000, 20000);
  std::uniform_int_distribution<int64_t> first(0, hits.bar - 1);
  std::uniform_int_distribution<int64_t> length(1, 3 * hits.bar);
  for (int s = 0; s < 24; ++s) {
    hits.sources.emplace_back(length(random));
    for (int16_t& v : hits.sources.back())
      v = static_cast<int16_t>(frame(random));
  }
  for (size_t s = 0; s < hits.sources.size(); ++s) {
    const int64_t start = s == 0 ? 0 : (s == 1 ? hits.bar - 1 : (s == 2 ? 0 : first(random)));
    // Every third hit shares the previous one's gain, as hits of one track do, so the mixer's
    // runs of equal gains are exercised too.
    const float gain = s % 3 == 2 ? hits.segments.back().gain : (value(random) + 1.0f) * kUnit;
    hits.segments.push_back(
        {start, hits.sources[s].data(), static_cast<int64_t>(hits.sources[s].size()), gain});
  }
  return hits;
}

// The loop as the definition says, in double: bar r's hits laid at r * bar, cut at `total`.
std::vector<double> ReferenceLoop(const Hits& hits, int repeats, int64_t total) {
  std::vector<double> out(static_cast<size_t>(total), 0.0);
  for (int r = 0; r < repeats; ++r) {
    for (const Segment& s : hits.segments) {
      for (int64_t i = 0; i < s.count && r * hits.bar + s.first + i < total; ++i)
        out[r * hits.bar + s.first + i] += static_cast<double>(s.gain) * s.source[i];
    }
  }
  return out;
}

// The loop's bars as outputs of the folded mix, as the renderer asks for them.
std::vector<FoldedBarOutput> LoopOutputs(std::vector<float>& pcm, int64_t bar, int repeats) {
  std::vector<FoldedBarOutput> outputs;
  const auto total = static_cast<int64_t>(pcm.size());
  for (int q = 0; q * bar < total; ++q)
    outputs.push_back({pcm.data() + q * bar, std::min(bar, total - q * bar), q - repeats + 1, q});
  return outputs;
}

TEST(FoldedBarTest, LoopEqualsEveryBarMixedInFull) {
  Hits hits = MakeHits(11);
  ASSERT_GE(FoldedChunks(hits.segments, hits.bar), 3) << "hits must ring for several bars";
  for (int repeats : {1, 2, 4, 5}) {
    // Tails shorter than, equal to and longer than a bar.
    for (int64_t tail : {int64_t{0}, hits.bar / 3, hits.bar, 2 * hits.bar + 5}) {
      const int64_t total = repeats * hits.bar + tail;
      std::vector<float> pcm(static_cast<size_t>(total), 9.0f);
      Hits copy = hits;
      MixFoldedBar(copy.segments, hits.bar, LoopOutputs(pcm, hits.bar, repeats), /*clip=*/false);
      const std::vector<double> expected = ReferenceLoop(hits, repeats, total);
      for (int64_t i = 0; i < total; ++i)
        ASSERT_NEAR(pcm[i], expected[i], 2e-5)
            << "repeats " << repeats << " tail " << tail << " frame " << i;
    }
  }
}

TEST(FoldedBarTest, SteadyBarIsEveryChunkWrappedIntoOneBar) {
  Hits hits = MakeHits(12);
  std::vector<double> expected(static_cast<size_t>(hits.bar), 0.0);
  for (const Segment& s : hits.segments) {
    for (int64_t i = 0; i < s.count; ++i)
      expected[(s.first + i) % hits.bar] += static_cast<double>(s.gain) * s.source[i];
  }
  std::vector<float> bar(static_cast<size_t>(hits.bar));
  MixFoldedBar(hits.segments, hits.bar,
               {{bar.data(), hits.bar, 0, std::numeric_limits<int>::max()}}, /*clip=*/false);
  for (int64_t i = 0; i < hits.bar; ++i)
    ASSERT_NEAR(bar[i], expected[i], 2e-5) << "frame " << i;
}

// Clipping clamps exactly the frames beyond full scale of the unclipped mix and counts them once
// per output frame, also in the bars that are copies of an earlier one.
TEST(FoldedBarTest, ClipClampsAndCountsEveryOutputFrame) {
  Hits hits = MakeHits(13);
  for (Segment& s : hits.segments)
    s.gain *= 3.0f;  // Loud enough that many frames clip.
  const int repeats = 4;
  const int64_t total = repeats * hits.bar + hits.bar / 2;
  std::vector<float> unclipped(static_cast<size_t>(total));
  std::vector<float> clipped(static_cast<size_t>(total));
  Hits copy = hits;
  EXPECT_EQ(MixFoldedBar(copy.segments, hits.bar, LoopOutputs(unclipped, hits.bar, repeats), false),
            0);
  const int64_t count =
      MixFoldedBar(hits.segments, hits.bar, LoopOutputs(clipped, hits.bar, repeats), true);
  int64_t expected_count = 0;
  for (int64_t i = 0; i < total; ++i) {
    const float x = unclipped[i];
    expected_count += std::fabs(x) > 1.0f ? 1 : 0;
    ASSERT_EQ(clipped[i], std::clamp(x, -1.0f, 1.0f)) << "frame " << i;
  }
  EXPECT_GT(expected_count, 1000);
  EXPECT_EQ(count, expected_count);
}

TEST(FoldedBarTest, SameHitsRenderTheSameBits) {
  Hits hits = MakeHits(14);
  std::vector<float> first(static_cast<size_t>(4 * hits.bar + 100));
  std::vector<float> second(first.size());
  // The segments arrive in another order the second time; only the two that share a first frame
  // (hits 0 and 2) keep theirs, as ties are summed in the order given.
  Hits copy = hits;
  std::reverse(copy.segments.begin(), copy.segments.end());
  auto tie_0 = std::find_if(copy.segments.begin(), copy.segments.end(),
                            [&](const Segment& s) { return s.source == hits.sources[0].data(); });
  auto tie_2 = std::find_if(copy.segments.begin(), copy.segments.end(),
                            [&](const Segment& s) { return s.source == hits.sources[2].data(); });
  std::iter_swap(tie_0, tie_2);
  std::vector<int64_t> firsts;
  for (const Segment& s : hits.segments)
    firsts.push_back(s.first);
  std::sort(firsts.begin(), firsts.end());
  ASSERT_EQ(std::adjacent_find(firsts.begin() + 1, firsts.end()), firsts.end())
      << "only hits 0 and 2 may share a first frame";
  MixFoldedBar(hits.segments, hits.bar, LoopOutputs(first, hits.bar, 4), true);
  MixFoldedBar(copy.segments, hits.bar, LoopOutputs(second, hits.bar, 4), true);
  EXPECT_EQ(first, second);
}

// One repeat and a tail of five bars over hits that ring for six: every bar of the clip hears a
// different single chunk, the tail's bars included.
TEST(FoldedBarTest, OneRepeatWithATailOfManyBars) {
  Hits hits = MakeHits(14);
  hits.sources.emplace_back(static_cast<size_t>(6 * hits.bar - 40), int16_t{4096});
  hits.segments.push_back({20, hits.sources.back().data(),
                           static_cast<int64_t>(hits.sources.back().size()), 0.5f * kUnit});
  ASSERT_EQ(FoldedChunks(hits.segments, hits.bar), 6);
  const int64_t total = 6 * hits.bar;
  std::vector<float> pcm(static_cast<size_t>(total), 9.0f);
  Hits copy = hits;
  MixFoldedBar(copy.segments, hits.bar, LoopOutputs(pcm, hits.bar, 1), /*clip=*/false);
  const std::vector<double> expected = ReferenceLoop(hits, 1, total);
  for (int64_t i = 0; i < total; ++i)
    ASSERT_NEAR(pcm[i], expected[i], 2e-5) << "frame " << i;
}

// Helpers that take blocks from the back of the bar (each claim before the last) write the same
// bits and count the same clipped frames as one thread, for loops and the steady bar, over bars
// of many blocks that are no multiple of a block.
TEST(FoldedBarTest, HelpersMixTheSameBitsAsOneThread) {
  auto team = HelperTeam::Create({.helpers = 2, .spin = absl::Milliseconds(1)});
  ASSERT_TRUE(team.ok()) << team.status();
  int64_t clipped_total = 0;
  for (uint32_t seed = 20; seed < 30; ++seed) {
    Hits hits = MakeHits(seed, 40 * 1024 + 17 + seed);
    for (Segment& s : hits.segments)
      s.gain *= 2.0f;  // Loud enough that some frames clip.
    const int repeats = 1 + static_cast<int>(seed % 4);
    const int64_t total = repeats * hits.bar + hits.bar / 2;
    std::vector<float> alone(static_cast<size_t>(total)), together(alone.size());
    Hits copy = hits;
    const int64_t clipped_alone =
        MixFoldedBar(hits.segments, hits.bar, LoopOutputs(alone, hits.bar, repeats), true);
    const int64_t clipped_together = MixFoldedBar(
        copy.segments, hits.bar, LoopOutputs(together, hits.bar, repeats), true, team->get());
    ASSERT_EQ(together, alone) << "seed " << seed;
    EXPECT_EQ(clipped_together, clipped_alone) << "seed " << seed;
    clipped_total += clipped_alone;
    std::vector<float> bar_alone(static_cast<size_t>(hits.bar)), bar_together(bar_alone.size());
    MixFoldedBar(hits.segments, hits.bar,
                 {{bar_alone.data(), hits.bar, 0, std::numeric_limits<int>::max()}}, false);
    MixFoldedBar(copy.segments, hits.bar,
                 {{bar_together.data(), hits.bar, 0, std::numeric_limits<int>::max()}}, false,
                 team->get());
    ASSERT_EQ(bar_together, bar_alone) << "seed " << seed;
  }
  EXPECT_GT(clipped_total, 0);
}

TEST(FoldedBarTest, NoHitsIsSilence) {
  std::vector<Segment> none;
  EXPECT_EQ(FoldedChunks(none, 100), 1);
  std::vector<float> pcm(250, 0.5f);
  EXPECT_EQ(MixFoldedBar(none, 100, LoopOutputs(pcm, 100, 2), true), 0);
  for (float v : pcm)
    ASSERT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace dd::mix
