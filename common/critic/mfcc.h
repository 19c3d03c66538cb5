// MFCC features with LibTorch tensor ops, so they run on the same device as the critic (on the CPU
// the mel power comes from CpuMelSpectrogram, a vectorised kernel for the same numbers). Matches
// torchaudio.transforms.MFCC(n_mfcc=60, dct_type=2, norm='ortho', log_mels=False) with its other
// defaults: a power spectrogram (n_fft 400, Hann window, hop 200, centred with reflect padding), an
// HTK mel bank of 128 bands from 0 Hz to mel_sample_rate/2 with no normalisation, power-to-dB with
// an 80 dB floor below each clip's own peak, and an orthonormal DCT-II.
#pragma once

#include <optional>

#include <torch/types.h>

#include "common/critic/cpu_mel_spectrogram.h"

namespace dd::critic {

struct MfccOptions {
  int n_mfcc = 60;
  int n_mels = 128;
  int n_fft = 400;
  int hop_length = 200;
  // The rate the mel bank assumes; see CriticConfig::mel_sample_rate.
  int mel_sample_rate = 16000;
  double top_db = 80.0;
  // On CPU tensors, the mel power comes from CpuMelSpectrogram (a vectorised FFT and the sparse
  // mel bank, ~5x faster) where it has a plan for n_fft; false keeps LibTorch's rfft and matrix
  // product everywhere, for comparisons. Other devices always use LibTorch's.
  bool cpu_kernel = true;
};

class Mfcc {
 public:
  Mfcc(const MfccOptions& options, torch::Device device);

  // audio: (batch, frames) float32 on the device. Returns (batch, n_mfcc, 1 + frames / hop).
  torch::Tensor Compute(const torch::Tensor& audio) const;
  // The two halves of Compute, for callers that also use the mel levels: (batch, time, n_mels)
  // in dB with the top_db floor, and the DCT of that.
  torch::Tensor MelDb(const torch::Tensor& audio) const;
  torch::Tensor FromMelDb(const torch::Tensor& mel_db) const;

  // (n_fft / 2 + 1, n_mels), exposed for tests.
  const torch::Tensor& mel_filter_bank() const { return mel_bank_; }
  const MfccOptions& options() const { return options_; }

 private:
  // (batch, time, n_mels) mel power.
  torch::Tensor MelPower(const torch::Tensor& audio) const;

  MfccOptions options_;
  torch::Tensor window_;    // (n_fft)
  torch::Tensor mel_bank_;  // (n_freqs, n_mels)
  torch::Tensor dct_;       // (n_mels, n_mfcc)
  std::optional<CpuMelSpectrogram> cpu_mel_;
};

}  // namespace dd::critic
