// The LibTorch MFCC against torchaudio's, on fixtures written by make_mfcc_fixtures.py, and the
// per-step onsets computed from the same mel levels.
#include "common/critic/mfcc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/critic/critic_config.h"
#include "common/critic/step_onsets.h"

namespace dd::critic {
namespace {

const std::filesystem::path kFixtures = std::filesystem::path(DD_TEST_SOURCE_DIR) / "fixtures";

std::vector<float> ReadFloats(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::vector<float> values(std::filesystem::file_size(path) / sizeof(float));
  in.read(reinterpret_cast<char*>(values.data()), values.size() * sizeof(float));
  return values;
}

// torchaudio works in float32; values are dB-scale cepstra of magnitude up to ~500, so an absolute
// error of 2e-2 is ~1e-4 relative. The bound is what float32 rounding of a 128x201 mel matmul and
// 128-point DCT allows, not a fudge: a wrong window, mel scale or floor is off by whole units.
constexpr float kMaxAbsError = 2e-2f;

class MfccFixtureTest : public ::testing::TestWithParam<int> {};

TEST_P(MfccFixtureTest, MatchesTorchaudio) {
  const int mel_rate = GetParam();
  std::vector<float> input = ReadFloats(kFixtures / "mfcc_input_3x22050.f32");
  std::vector<float> expected =
      ReadFloats(kFixtures / ("mfcc_expected_sr" + std::to_string(mel_rate) + "_3x60x111.f32"));
  ASSERT_EQ(input.size(), 3u * 22050u);
  ASSERT_EQ(expected.size(), 3u * 60u * 111u);

  MfccOptions options;
  options.mel_sample_rate = mel_rate;
  Mfcc mfcc(options, torch::kCPU);
  torch::Tensor out = mfcc.Compute(torch::from_blob(input.data(), {3, 22050}, torch::kFloat32));
  ASSERT_EQ(out.sizes(), torch::IntArrayRef({3, 60, 111}));
  torch::Tensor reference = torch::from_blob(expected.data(), {3, 60, 111}, torch::kFloat32);
  const float max_error = (out - reference).abs().max().item<float>();
  const float max_magnitude = reference.abs().max().item<float>();
  RecordProperty("max_abs_error", std::to_string(max_error));
  EXPECT_LT(max_error, kMaxAbsError) << "largest |value| " << max_magnitude;
  EXPECT_GT(max_magnitude, 10.0f);  // The fixture is not trivially near zero.
}

INSTANTIATE_TEST_SUITE_P(MelRates, MfccFixtureTest, ::testing::Values(16000, 44100));

TEST(MfccTest, TwoSecondClipGives60By442) {
  Mfcc mfcc(MfccOptions{}, torch::kCPU);
  torch::Tensor out = mfcc.Compute(torch::zeros({2, 88200}));
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, 60, 442}));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());  // Silence hits the floor, not -inf.
}

TEST(MfccTest, GainShiftsOnlyTheFirstCoefficient) {
  // Power-to-dB turns a gain into an additive constant, and the orthonormal DCT of a constant lives
  // only in coefficient 0: a property the critic's augmentation relies on being cheap to reason on.
  torch::manual_seed(3);
  torch::Tensor audio = torch::randn({1, 22050}) * 0.1;
  Mfcc mfcc(MfccOptions{}, torch::kCPU);
  torch::Tensor diff = mfcc.Compute(audio * 2.0) - mfcc.Compute(audio);
  EXPECT_NEAR(diff.select(1, 0).mean().item<float>(), 20.0 * std::log10(2.0) * std::sqrt(128.0),
              0.05);
  EXPECT_LT(diff.slice(1, 1).abs().max().item<float>(), 0.01);
}

// A bar with a low thump on the four beats and a high tick on steps 2, 6, 10, 14, each faded in
// over 64 samples so that neither starts with a broadband click.
std::vector<float> ThumpsAndTicks(int64_t shift) {
  std::vector<float> clip(kClipFrames, 0.0f);
  auto add = [&](int step, double hz, double decay) {
    const auto start = static_cast<int64_t>(step * kClipFrames / 16) + shift;
    for (int64_t i = 0; i < 8000; ++i) {
      const double t = static_cast<double>(i) / kClipSampleRate;
      const double fade = std::min(1.0, static_cast<double>(i) / 64.0);
      clip[static_cast<size_t>((start + i) % kClipFrames)] +=
          static_cast<float>(0.5 * fade * std::sin(2 * M_PI * hz * t) * std::exp(-decay * t));
    }
  };
  for (int step : {0, 4, 8, 12})
    add(step, 60.0, 20.0);
  for (int step : {2, 6, 10, 14})
    add(step, 7000.0, 200.0);
  return clip;
}

TEST(StepOnsetsTest, RisesShowWhereEachBandIsHitWhateverTheAugmentationShift) {
  Mfcc mfcc(MfccOptions{}, torch::kCPU);
  for (int64_t shift : {0, 127}) {
    std::vector<float> clip = ThumpsAndTicks(shift);
    torch::Tensor onsets =
        StepOnsets(mfcc.MelDb(torch::from_blob(clip.data(), {1, kClipFrames}, torch::kFloat32)),
                   MfccOptions{}.hop_length, kClipFrames);
    ASSERT_EQ(onsets.sizes(), torch::IntArrayRef({1, kStepOnsetFeatures}));
    torch::Tensor by_step = onsets.view({kOnsetSteps, kOnsetBands});
    const torch::Tensor low = by_step.select(1, 0), high = by_step.select(1, kOnsetBands - 1);
    for (int step = 0; step < kOnsetSteps; ++step) {
      SCOPED_TRACE("shift " + std::to_string(shift) + ", step " + std::to_string(step));
      const float low_rise = low[step].item<float>(), high_rise = high[step].item<float>();
      if (step % 4 == 0) {
        EXPECT_GT(low_rise, 1.0f);  // Tens of dB up from the decayed tail.
      } else {
        EXPECT_LT(low_rise, 0.3f * low[0].item<float>());
      }
      if (step % 4 == 2) {
        EXPECT_GT(high_rise, 1.0f);
      } else {
        EXPECT_LT(high_rise, 0.3f * high[2].item<float>());
      }
    }
  }
}

TEST(RhythmSummaryTest, DensityBeatPositionSharesAndHalfBarRepetition) {
  // Band 0 on every beat (steps 0, 4, 8, 12); band 1 on the second sixteenth of the first half
  // only (steps 1, 5); bands 2 and 3 silent.
  torch::Tensor onsets = torch::zeros({1, kOnsetSteps, kOnsetBands});
  for (int step : {0, 4, 8, 12})
    onsets[0][step][0] = 2.0f;
  for (int step : {1, 5})
    onsets[0][step][1] = 3.0f;
  torch::Tensor summary = RhythmSummary(onsets.flatten(1));
  ASSERT_EQ(summary.sizes(), torch::IntArrayRef({1, kRhythmSummaryFeatures}));
  const auto at = [&](int index) { return summary[0][index].item<float>(); };
  // Density: log(1 + total) per band.
  EXPECT_NEAR(at(0), std::log1p(8.0f), 1e-5);
  EXPECT_NEAR(at(1), std::log1p(6.0f), 1e-5);
  EXPECT_EQ(at(2), 0.0f);
  // Shares, [position][band] after the four densities: band 0 all on position 0, band 1 all on
  // position 1.
  const auto share = [&](int position, int band) {
    return at(kOnsetBands + position * kOnsetBands + band);
  };
  EXPECT_NEAR(share(0, 0), 1.0f, 1e-2);
  EXPECT_EQ(share(1, 0) + share(2, 0) + share(3, 0), 0.0f);
  EXPECT_NEAR(share(1, 1), 1.0f, 1e-2);
  EXPECT_EQ(share(0, 1), 0.0f);
  // Repetition: band 0's halves are equal, band 1's second half is empty.
  const int repetition = kOnsetBands * (1 + kBeatPositions);
  EXPECT_NEAR(at(repetition + 0), 1.0f, 1e-2);
  EXPECT_EQ(at(repetition + 1), 0.0f);
}

TEST(StepOnsetsTest, SilenceHasNoOnsets) {
  Mfcc mfcc(MfccOptions{}, torch::kCPU);
  torch::Tensor onsets =
      StepOnsets(mfcc.MelDb(torch::zeros({2, kClipFrames})), MfccOptions{}.hop_length, kClipFrames);
  EXPECT_EQ(onsets.sizes(), torch::IntArrayRef({2, kStepOnsetFeatures}));
  EXPECT_EQ(onsets.abs().max().item<float>(), 0.0f);
}

}  // namespace
}  // namespace dd::critic
