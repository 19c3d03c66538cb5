#include "common/critic/step_onsets.h"

#include <cmath>
#include <vector>

#include <torch/torch.h>

namespace dd::critic {
namespace {

// Lowest mel bands hold the kick's body; the top ones hats and noise. Chosen on the 128-band bank
// of either mel_sample_rate so that each band has at least a few filters.
constexpr int kBandEdges[kOnsetBands + 1] = {0, 6, 24, 64, 128};
// Frames searched around a step's first frame: the centred STFT sees a hit up to one frame early
// (its 400-sample window reaches 200 samples ahead), and the shift augmentation moves it up to
// 128 samples later; a step is ~27 frames, so windows never touch.
constexpr int64_t kFramesBefore = 2;
constexpr int64_t kFramesAfter = 4;
// Below this (tenths of a dB summed over a bar) a band is silent; keeps the ratios finite.
constexpr double kSilentBand = 1e-2;

}  // namespace

torch::Tensor StepOnsetWindows(int hop_length, int64_t clip_frames, torch::Device device) {
  // Frame clip_frames / hop is the first frame of the next bar; the bar is one period before it.
  const int64_t period = clip_frames / hop_length;
  std::vector<int64_t> frames;
  frames.reserve(kOnsetSteps * (kFramesBefore + kFramesAfter));
  for (int step = 0; step < kOnsetSteps; ++step) {
    const auto first = static_cast<int64_t>(std::llround(
        static_cast<double>(step) * static_cast<double>(clip_frames) / kOnsetSteps / hop_length));
    for (int64_t j = -kFramesBefore; j < kFramesAfter; ++j) {
      frames.push_back(((first + j) % period + period) % period);
    }
  }
  return torch::tensor(frames, torch::TensorOptions().dtype(torch::kInt64)).to(device);
}

torch::Tensor StepOnsets(const torch::Tensor& mel_db, int hop_length, int64_t clip_frames,
                         const torch::Tensor& window_frames) {
  const int64_t batch = mel_db.size(0);
  const int64_t period = clip_frames / hop_length;
  std::vector<torch::Tensor> bands;
  for (int band = 0; band < kOnsetBands; ++band) {
    bands.push_back(
        mel_db.slice(1, 0, period).slice(2, kBandEdges[band], kBandEdges[band + 1]).mean(2));
  }
  torch::Tensor level = torch::stack(bands, 2);                          // (batch, period, bands)
  torch::Tensor rise = torch::relu(level - level.roll(1, 1)).mul_(0.1);  // Circular: a steady bar.
  const torch::Tensor index = window_frames.defined()
                                  ? window_frames
                                  : StepOnsetWindows(hop_length, clip_frames, mel_db.device());
  torch::Tensor windows = rise.index_select(1, index).view(
      {batch, kOnsetSteps, kFramesBefore + kFramesAfter, kOnsetBands});
  return std::get<0>(windows.max(2)).flatten(1);
}

torch::Tensor RhythmSummary(const torch::Tensor& step_onsets) {
  const int64_t batch = step_onsets.size(0);
  torch::Tensor onsets = step_onsets.view({batch, kOnsetSteps, kOnsetBands});
  torch::Tensor total = onsets.sum(1);  // (batch, bands)
  torch::Tensor density = torch::log1p(total);
  torch::Tensor by_position =
      onsets.view({batch, kOnsetSteps / kBeatPositions, kBeatPositions, kOnsetBands}).sum(1);
  torch::Tensor position_share = (by_position / (total.unsqueeze(1) + kSilentBand)).flatten(1);
  // Pearson, not cosine: onsets are never negative, so an uncentred cosine is high for any two
  // busy halves whether or not they match.
  torch::Tensor first = onsets.slice(1, 0, kOnsetSteps / 2);
  torch::Tensor second = onsets.slice(1, kOnsetSteps / 2);
  first = first - first.mean(1, true);
  second = second - second.mean(1, true);
  torch::Tensor repetition =
      (first * second).sum(1) /
      (first.square().sum(1).sqrt() * second.square().sum(1).sqrt() + kSilentBand);
  return torch::cat({density, position_share, repetition}, 1);
}

torch::Tensor RhythmFeatures(const torch::Tensor& mel_db, int hop_length, int64_t clip_frames,
                             const torch::Tensor& window_frames) {
  torch::Tensor onsets = StepOnsets(mel_db, hop_length, clip_frames, window_frames);
  return torch::cat({onsets, RhythmSummary(onsets)}, 1);
}

}  // namespace dd::critic
