// The mel power spectrogram of Mfcc, computed on the CPU in one pass per sixteen frames: window,
// real FFT (LaneFft, sixteen frames side by side), power and the mel bank, which is sparse (each
// FFT bin feeds at most two triangular bands), all while the frames are in L1. LibTorch's ops for
// the same numbers took ~590 us of a 2 s clip (an rfft of 442 frames, then a dense 201 x 128
// matrix product and three passes in between); see README "Performance".
#pragma once

#include <optional>
#include <vector>

#include <torch/types.h>

#include "common/critic/lane_fft.h"

namespace dd::critic {

class CpuMelSpectrogram {
 public:
  // window: (n_fft) float32; mel_bank: (n_fft / 2 + 1, n_mels) float32. nullopt where n_fft is odd
  // or LaneFft has no plan for n_fft / 2, so the caller keeps LibTorch's path.
  static std::optional<CpuMelSpectrogram> Create(int n_fft, int hop_length,
                                                 const torch::Tensor& window,
                                                 const torch::Tensor& mel_bank);

  // Whether Compute takes `audio`: a CPU float32 (batch, frames) tensor outside autograd, with more
  // frames than the centring pad of n_fft / 2 (reflect padding needs them).
  bool Accepts(const torch::Tensor& audio) const;

  // (batch, 1 + frames / hop_length, n_mels) mel power of centred, reflect-padded frames, as
  // matmul(|stft(audio, n_fft, hop, window, center=True, pad_mode="reflect", onesided)|^2 over
  // (batch, time, freq), mel_bank) gives, up to float rounding. Work is spread over LibTorch's
  // intra-op threads in units of sixteen frames.
  torch::Tensor Compute(const torch::Tensor& audio) const;

  // The parts of a plan the vector kernel reads; public for it, not for callers.
  struct Plan {
    int n_fft = 0;
    int hop_length = 0;
    int n_mels = 0;
    LaneFft fft;  // n_fft / 2 points: the real frame packed as even + i * odd samples.
    std::vector<int> slot_of_pair;  // The transform's input slot for packed element j.
    std::vector<float> window;
    // exp(-2 pi i k / n_fft) = cos - i sin for k <= n_fft / 2, to unpack the real transform.
    std::vector<float> unpack_cos, unpack_sin;
    // Band b takes bins [band_first[b], band_first[b] + band_size[b]) with weights from
    // band_weights[band_offset[b]].
    std::vector<int> band_first, band_size, band_offset;
    std::vector<float> band_weights;
  };

 private:
  explicit CpuMelSpectrogram(Plan plan) : plan_(std::move(plan)) {}

  Plan plan_;
};

}  // namespace dd::critic
