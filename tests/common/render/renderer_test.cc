#include "common/render/renderer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <tuple>

#include "common/audio/audio_constants.h"
#include "common/audio/pcm16.h"
#include "common/render/steady_clip.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {

class RendererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteFloatWav(dir_.path() / "click.wav", {1.0f}, 1, kSampleRate);
    testing::WriteFloatWav(dir_.path() / "dc.wav", std::vector<float>(3 * kSampleRate, 0.25f), 1,
                           kSampleRate);
    std::vector<float> ramp(5 * kSampleRate);
    for (size_t i = 0; i < ramp.size(); ++i)
      ramp[i] = 0.5f * static_cast<float>(i) / ramp.size();
    testing::WriteFloatWav(dir_.path() / "ramp.wav", ramp, 1, kSampleRate);
    testing::WriteFloatWav(dir_.path() / "loud.wav", std::vector<float>(100, 1.0f), 1, kSampleRate);
    auto library = SampleLibrary::Load(dir_.path());
    ASSERT_TRUE(library.ok()) << library.status();
    renderer_ = std::make_unique<Renderer>(*library);
  }

  static Pattern Make(int steps, double bpm, std::vector<std::string> ids) {
    auto pattern = Pattern::Create(steps, bpm, std::move(ids));
    EXPECT_TRUE(pattern.ok()) << pattern.status();
    return *pattern;
  }

  testing::TempDir dir_;
  std::unique_ptr<Renderer> renderer_;
};

TEST_F(RendererTest, ClicksLandOnTheExactFrameOfEveryStepOfEveryRepeat) {
  for (double bpm : {120.0, 133.0, 97.5, 300.0}) {
    for (int steps : {16, 12}) {
      Pattern pattern = Make(steps, bpm, {"click.wav", "click.wav"});
      for (int k = 0; k < steps; k += 3)
        pattern.set_hit(0, k, true);
      pattern.set_velocity(1, steps - 1, 0.5f);
      RenderOptions options;
      options.repeats = 3;
      absl::StatusOr<RenderedAudio> audio = renderer_->Render(pattern, options);
      ASSERT_TRUE(audio.ok()) << audio.status();
      std::map<int64_t, float> expected;
      for (int r = 0; r < 3; ++r) {
        for (int k = 0; k < steps; k += 3)
          expected[testing::ExactStepStart(r * steps + k, bpm)] += 0.5f;
        expected[testing::ExactStepStart(r * steps + steps - 1, bpm)] += 0.25f;
      }
      std::map<int64_t, float> actual;
      for (size_t i = 0; i < audio->pcm.size(); ++i) {
        if (audio->pcm[i] != 0.0f) actual[static_cast<int64_t>(i)] = audio->pcm[i];
      }
      ASSERT_EQ(actual, expected) << "bpm " << bpm << " steps " << steps;
    }
  }
}

TEST_F(RendererTest, LengthIsRepeatsBarsPlusTail) {
  Pattern pattern = Make(16, 120, {"click.wav"});
  pattern.set_hit(0, 0, true);
  absl::StatusOr<RenderedAudio> audio = renderer_->Render(pattern, {});
  ASSERT_TRUE(audio.ok());
  EXPECT_EQ(audio->pcm.size(), 4u * 88200u + 44100u) << "4 bars of 2 s plus a 1 s tail = 9 s";
  for (int repeats : {1, 2, 7}) {
    for (double tail : {0.0, 0.25, 2.0}) {
      RenderOptions options;
      options.repeats = repeats;
      options.tail_seconds = tail;
      absl::StatusOr<RenderedAudio> other =
          renderer_->Render(Make(16, 133, {"click.wav"}), options);
      ASSERT_TRUE(other.ok());
      EXPECT_EQ(static_cast<int64_t>(other->pcm.size()),
                testing::ExactStepStart(16 * repeats, 133) + std::llround(tail * kSampleRate));
    }
  }
}

TEST_F(RendererTest, TheTailLetsTheLastHitRingAndTheEndCutsIt) {
  Pattern pattern = Make(16, 120, {"dc.wav"});
  pattern.set_hit(0, 15, true);  // Last step of each bar: starts 0.125 s before the bar ends.
  absl::StatusOr<RenderedAudio> audio = renderer_->Render(pattern, {});
  ASSERT_TRUE(audio.ok());
  const int64_t last_hit = testing::ExactStepStart(4 * 16 - 1, 120);
  // The 3 s sample overlaps itself from the previous bars but is cut at the end of the clip.
  EXPECT_FLOAT_EQ(audio->pcm.back(), 0.125f) << "the last hit rings to the end of the tail";
  EXPECT_FLOAT_EQ(audio->pcm[static_cast<size_t>(last_hit)], 0.25f)
      << "overlaps the previous bar's hit";
  EXPECT_FLOAT_EQ(audio->pcm[static_cast<size_t>(last_hit - 1)], 0.125f);
  EXPECT_EQ(audio->pcm.size(), static_cast<size_t>(last_hit + 5512 + 44100 + 1));
}

TEST_F(RendererTest, SteadyBarEqualsABarInTheMiddleOfALongLoop) {
  Pattern pattern = Make(16, 120, {"ramp.wav", "dc.wav", "click.wav"});
  pattern.set_hit(0, 3, true);
  pattern.set_hit(1, 8, true);
  pattern.set_velocity(1, 13, 0.4f);
  pattern.set_hit(2, 0, true);
  absl::StatusOr<RenderedAudio> bar = renderer_->RenderSteadyBar(pattern);
  ASSERT_TRUE(bar.ok());
  ASSERT_EQ(bar->pcm.size(), 88200u);
  // The 5 s ramp rings through three bars, so by the fourth bar the loop is in steady state.
  RenderOptions options;
  options.repeats = 6;
  absl::StatusOr<RenderedAudio> loop = renderer_->Render(pattern, options);
  ASSERT_TRUE(loop.ok());
  for (size_t i = 0; i < bar->pcm.size(); ++i) {
    ASSERT_NEAR(bar->pcm[i], loop->pcm[4 * 88200 + i], 1e-6f) << "frame " << i;
  }
  // And it differs from the first bar, which has no tails from before it.
  EXPECT_NE(bar->pcm[10], loop->pcm[10]);
}

// The clip the critic hears (2 s) is the steady bar repeated or cut to length, whether the bar is
// the clip (120 bpm), shorter (160 bpm, tiled) or longer (100 bpm, cut); written into a caller's
// memory, with scratch reused across calls, it is the same.
TEST_F(RendererTest, SteadyClipIsTheSteadyBarTiledOrCutToLength) {
  constexpr int64_t kFrames = 88200;
  RenderedAudio scratch;
  std::vector<float> into(kFrames + 1, -7.0f);  // One frame more, which must stay untouched.
  for (const double bpm : {120.0, 160.0, 100.0}) {
    Pattern pattern = Make(16, bpm, {"ramp.wav", "click.wav"});
    pattern.set_hit(0, 2, true);
    pattern.set_hit(1, 0, true);
    pattern.set_hit(1, 9, true);
    absl::StatusOr<RenderedAudio> bar = renderer_->RenderSteadyBar(pattern);
    ASSERT_TRUE(bar.ok());
    ASSERT_EQ(static_cast<int64_t>(bar->pcm.size()), BarFrames(16, bpm));
    absl::StatusOr<std::vector<float>> clip = RenderSteadyClip(*renderer_, pattern, kFrames);
    ASSERT_TRUE(clip.ok()) << clip.status();
    ASSERT_EQ(clip->size(), static_cast<size_t>(kFrames));
    for (int64_t i = 0; i < kFrames; ++i) {
      ASSERT_EQ((*clip)[i], bar->pcm[static_cast<size_t>(i) % bar->pcm.size()])
          << "bpm " << bpm << ", frame " << i;
    }
    ASSERT_TRUE(RenderSteadyClipInto(*renderer_, pattern, into.data(), kFrames, scratch).ok());
    EXPECT_TRUE(std::equal(clip->begin(), clip->end(), into.begin())) << "bpm " << bpm;
    EXPECT_EQ(into[kFrames], -7.0f) << "bpm " << bpm;
  }
  const Pattern unknown = Make(16, 120, {"nope.wav"});
  EXPECT_EQ(RenderSteadyClipInto(*renderer_, unknown, into.data(), kFrames, scratch).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(RenderSteadyClip(*renderer_, unknown, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RendererTest, PeakPolicyClipsOrNormalises) {
  Pattern pattern = Make(16, 120, {"loud.wav", "loud.wav", "loud.wav", "click.wav"});
  for (int t = 0; t < 3; ++t)
    pattern.set_hit(t, 0, true);  // 3 x 1.0 x 0.5 = 1.5 peak.
  pattern.set_hit(3, 8, true);
  RenderOptions clip;
  absl::StatusOr<RenderedAudio> clipped = renderer_->RenderSteadyBar(pattern, clip);
  ASSERT_TRUE(clipped.ok());
  EXPECT_EQ(clipped->clipped_samples, 100);
  EXPECT_EQ(clipped->pcm[0], 1.0f);
  EXPECT_EQ(clipped->pcm[44100], 0.5f) << "other samples untouched";
  RenderOptions normalise;
  normalise.peak_policy = PeakPolicy::kNormalize;
  absl::StatusOr<RenderedAudio> normalised = renderer_->RenderSteadyBar(pattern, normalise);
  ASSERT_TRUE(normalised.ok());
  EXPECT_EQ(normalised->clipped_samples, 100);
  EXPECT_FLOAT_EQ(normalised->pcm[0], 1.0f);
  EXPECT_FLOAT_EQ(normalised->pcm[44100], 0.5f / 1.5f) << "whole clip scaled by 1/peak";
}

// The 16-bit render is the float render converted, sample for sample, with the same clip count:
// through the folded mix (whole bars, clipping), and through the float fallback (a tempo whose
// bars are not whole frames, and normalising).
TEST_F(RendererTest, Pcm16RenderIsTheFloatRenderConverted) {
  std::mt19937 random(21);
  std::bernoulli_distribution hit(0.4);
  std::uniform_real_distribution<float> velocity(0.2f, 1.0f);
  int64_t clipped_total = 0;
  for (double bpm : {120.0, 97.0}) {
    for (PeakPolicy policy : {PeakPolicy::kClip, PeakPolicy::kNormalize}) {
      for (int repeats : {1, 4}) {
        for (double tail_seconds : {0.0, 2.5}) {
          Pattern pattern = Make(16, bpm, {"ramp.wav", "dc.wav", "loud.wav", "loud.wav"});
          for (int t = 0; t < 4; ++t) {
            for (int k = 0; k < 16; ++k) {
              if (hit(random)) pattern.set_velocity(t, k, t == 0 ? velocity(random) : 1.0f);
            }
          }
          pattern.set_hit(2, 0, true);  // Both loud tracks at once: 2 x 1.0 x 0.5 = 1, plus dc.
          pattern.set_hit(3, 0, true);
          pattern.set_hit(1, 0, true);
          RenderOptions options;
          options.peak_policy = policy;
          options.repeats = repeats;
          options.tail_seconds = tail_seconds;
          RenderedAudio audio;
          ASSERT_TRUE(renderer_->RenderInto(pattern, options, audio).ok());
          std::vector<int16_t> expected(audio.pcm.size());
          FloatToPcm16(audio.pcm.data(), expected.data(), static_cast<int64_t>(expected.size()));
          RenderedPcm16 pcm16;
          ASSERT_TRUE(renderer_->RenderPcm16Into(pattern, options, pcm16).ok());
          const std::string where = ::testing::PrintToString(
              std::make_tuple(bpm, static_cast<int>(policy), repeats, tail_seconds));
          ASSERT_EQ(pcm16.pcm, expected) << where;
          EXPECT_EQ(pcm16.clipped_samples, audio.clipped_samples) << where;
          clipped_total += pcm16.clipped_samples;
        }
      }
    }
  }
  EXPECT_GT(clipped_total, 0) << "some renders must clip, or clipping went untested";
  RenderedPcm16 unused;
  EXPECT_EQ(renderer_->RenderPcm16Into(Make(16, 120, {"nope.wav"}), {}, unused).code(),
            absl::StatusCode::kNotFound);
  RenderOptions normalise;
  normalise.peak_policy = PeakPolicy::kNormalize;
  EXPECT_EQ(renderer_->RenderPcm16Into(Make(16, 120, {"nope.wav"}), normalise, unused).code(),
            absl::StatusCode::kNotFound);
  RenderOptions too_many;
  too_many.repeats = 1'000'000'000;
  EXPECT_EQ(renderer_->RenderPcm16Into(Make(16, 120, {"click.wav"}), too_many, unused).code(),
            absl::StatusCode::kInvalidArgument);
}

// A render that shares its blocks with helper threads writes the same bits and counts the same
// clipped samples as one that does not, whoever takes which blocks: loops, 16-bit loops and
// steady bars, at two tempos whose bars are whole frames (88,200 and 117,600: 22 and 29 pieces
// of 4 blocks to share), loud enough that some clip.
TEST_F(RendererTest, HelpersRenderTheSameBits) {
  auto team = HelperTeam::Create({.helpers = 2, .spin = absl::Milliseconds(1)});
  ASSERT_TRUE(team.ok()) << team.status();
  auto library = SampleLibrary::Load(dir_.path());
  ASSERT_TRUE(library.ok()) << library.status();
  const Renderer shared(*library, std::shared_ptr<HelperTeam>(*std::move(team)));
  std::mt19937 random(33);
  std::bernoulli_distribution hit(0.45);
  std::uniform_real_distribution<float> velocity(0.2f, 1.0f);
  int64_t clipped_total = 0;
  for (double bpm : {120.0, 90.0}) {
    for (int trial = 0; trial < 12; ++trial) {
      Pattern pattern = Make(16, bpm, {"ramp.wav", "dc.wav", "loud.wav", "click.wav"});
      for (int t = 0; t < 4; ++t) {
        for (int k = 0; k < 16; ++k) {
          if (hit(random)) pattern.set_velocity(t, k, velocity(random));
        }
      }
      RenderOptions options;
      options.repeats = 1 + trial % 4;
      options.tail_seconds = trial % 3 == 0 ? 0.0 : 1.0;
      const std::string where = ::testing::PrintToString(std::make_tuple(bpm, trial));
      RenderedAudio alone, together;
      ASSERT_TRUE(renderer_->RenderInto(pattern, options, alone).ok());
      ASSERT_TRUE(shared.RenderInto(pattern, options, together).ok());
      ASSERT_EQ(together.pcm, alone.pcm) << where;
      EXPECT_EQ(together.clipped_samples, alone.clipped_samples) << where;
      clipped_total += alone.clipped_samples;
      RenderedPcm16 alone16, together16;
      ASSERT_TRUE(renderer_->RenderPcm16Into(pattern, options, alone16).ok());
      ASSERT_TRUE(shared.RenderPcm16Into(pattern, options, together16).ok());
      ASSERT_EQ(together16.pcm, alone16.pcm) << where;
      EXPECT_EQ(together16.clipped_samples, alone16.clipped_samples) << where;
      RenderedAudio alone_bar, together_bar;
      ASSERT_TRUE(renderer_->RenderSteadyBarInto(pattern, options, alone_bar).ok());
      ASSERT_TRUE(shared.RenderSteadyBarInto(pattern, options, together_bar).ok());
      ASSERT_EQ(together_bar.pcm, alone_bar.pcm) << where;
      EXPECT_EQ(together_bar.clipped_samples, alone_bar.clipped_samples) << where;
    }
  }
  EXPECT_GT(clipped_total, 0) << "some renders must clip, or the shared clip count went untested";
}

TEST_F(RendererTest, ErrorsAreClear) {
  Pattern unknown = Make(16, 120, {"click.wav", "nope.wav"});
  const absl::Status status = renderer_->Render(unknown, {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("nope.wav"), std::string::npos);
  RenderOptions bad;
  bad.repeats = 0;
  EXPECT_EQ(renderer_->Render(Make(16, 120, {"click.wav"}), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad.repeats = 4;
  bad.tail_seconds = -1;
  EXPECT_EQ(renderer_->Render(Make(16, 120, {"click.wav"}), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dd
