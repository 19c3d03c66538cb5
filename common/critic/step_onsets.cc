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

}  // namespace

torch::Tensor StepOnsets(const torch::Tensor& mel_db, int hop_length, int64_t clip_frames) {
  const int64_t batch = mel_db.size(0);
  // Frame clip_frames / hop is the first frame of the next bar; the bar is one period before it.
  const int64_t period = clip_frames / hop_length;
  std::vector<torch::Tensor> bands;
  for (int band = 0; band < kOnsetBands; ++band) {
    bands.push_back(
        mel_db.slice(1, 0, period).slice(2, kBandEdges[band], kBandEdges[band + 1]).mean(2));
  }
  torch::Tensor level = torch::stack(bands, 2);                          // (batch, period, bands)
  torch::Tensor rise = torch::relu(level - level.roll(1, 1)).mul_(0.1);  // Circular: a steady bar.
  std::vector<int64_t> frames;
  frames.reserve(kOnsetSteps * (kFramesBefore + kFramesAfter));
  for (int step = 0; step < kOnsetSteps; ++step) {
    const auto first = static_cast<int64_t>(std::llround(
        static_cast<double>(step) * static_cast<double>(clip_frames) / kOnsetSteps / hop_length));
    for (int64_t j = -kFramesBefore; j < kFramesAfter; ++j) {
      frames.push_back(((first + j) % period + period) % period);
    }
  }
  torch::Tensor index =
      torch::tensor(frames, torch::TensorOptions().dtype(torch::kInt64)).to(mel_db.device());
  torch::Tensor windows = rise.index_select(1, index).view(
      {batch, kOnsetSteps, kFramesBefore + kFramesAfter, kOnsetBands});
  return std::get<0>(windows.max(2)).flatten(1);
}

}  // namespace dd::critic
