#include "common/critic/mfcc.h"

#include <cmath>
#include <numbers>

#include <torch/torch.h>

namespace dd::critic {
namespace {

double HzToMelHtk(double hz) {
  return 2595.0 * std::log10(1.0 + hz / 700.0);
}

torch::Tensor MelToHzHtk(const torch::Tensor& mel) {
  return 700.0 * (torch::pow(10.0, mel / 2595.0) - 1.0);
}

// Triangular filters between consecutive mel points, as torchaudio.functional.melscale_fbanks
// (mel_scale="htk", norm=None), built in float64 and stored as float32 as torchaudio does.
torch::Tensor MelFilterBank(int n_freqs, int n_mels, double sample_rate) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor all_freqs = torch::linspace(0, std::floor(sample_rate / 2), n_freqs, f64);
  const double mel_max = HzToMelHtk(std::floor(sample_rate / 2));
  torch::Tensor mel_points = torch::linspace(HzToMelHtk(0.0), mel_max, n_mels + 2, f64);
  torch::Tensor freq_points = MelToHzHtk(mel_points);
  torch::Tensor widths = freq_points.slice(0, 1) - freq_points.slice(0, 0, -1);  // (n_mels + 1)
  torch::Tensor slopes =
      freq_points.unsqueeze(0) - all_freqs.unsqueeze(1);  // (n_freqs, n_mels + 2)
  torch::Tensor down = -slopes.slice(1, 0, -2) / widths.slice(0, 0, -1);
  torch::Tensor up = slopes.slice(1, 2) / widths.slice(0, 1);
  return torch::clamp_min(torch::minimum(down, up), 0.0).to(torch::kFloat32);
}

// DCT-II with orthonormal scaling, as torchaudio.functional.create_dct(n_mfcc, n_mels, "ortho").
torch::Tensor OrthoDct(int n_mfcc, int n_mels) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor n = torch::arange(n_mels, f64);
  torch::Tensor k = torch::arange(n_mfcc, f64).unsqueeze(1);
  torch::Tensor dct = torch::cos(std::numbers::pi / n_mels * (n + 0.5) * k);  // (n_mfcc, n_mels)
  dct.select(0, 0).mul_(1.0 / std::sqrt(2.0));
  dct.mul_(std::sqrt(2.0 / n_mels));
  return dct.t().contiguous().to(torch::kFloat32);
}

}  // namespace

Mfcc::Mfcc(const MfccOptions& options, torch::Device device) : options_(options) {
  window_ =
      torch::hann_window(options.n_fft, torch::TensorOptions().dtype(torch::kFloat32)).to(device);
  mel_bank_ =
      MelFilterBank(options.n_fft / 2 + 1, options.n_mels, options.mel_sample_rate).to(device);
  dct_ = OrthoDct(options.n_mfcc, options.n_mels).to(device);
}

torch::Tensor Mfcc::Compute(const torch::Tensor& audio) const {
  return FromMelDb(MelDb(audio));
}

torch::Tensor Mfcc::MelDb(const torch::Tensor& audio) const {
  torch::Tensor spectrum = torch::stft(audio, options_.n_fft, options_.hop_length, options_.n_fft,
                                       window_, /*center=*/true, /*pad_mode=*/"reflect",
                                       /*normalized=*/false, /*onesided=*/true,
                                       /*return_complex=*/true);
  torch::Tensor power = spectrum.abs().square_();                       // (batch, n_freqs, time)
  torch::Tensor mel = torch::matmul(power.transpose(1, 2), mel_bank_);  // (batch, time, n_mels)
  // Power to dB against a reference of 1, floored at 1e-10, then at top_db below each clip's peak.
  torch::Tensor mel_db = 10.0 * torch::log10(torch::clamp_min(mel, 1e-10));
  torch::Tensor floor = std::get<0>(mel_db.flatten(1).max(1)) - options_.top_db;
  return torch::maximum(mel_db, floor.view({-1, 1, 1}));
}

torch::Tensor Mfcc::FromMelDb(const torch::Tensor& mel_db) const {
  return torch::matmul(mel_db, dct_).transpose(1, 2).contiguous();  // (batch, n_mfcc, time)
}

}  // namespace dd::critic
