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
  if (options.cpu_kernel && device.is_cpu()) {
    cpu_mel_ = CpuMelSpectrogram::Create(options.n_fft, options.hop_length, window_, mel_bank_);
  }
}

torch::Tensor Mfcc::Compute(const torch::Tensor& audio) const {
  return FromMelDb(MelDb(audio));
}

torch::Tensor Mfcc::MelDb(const torch::Tensor& audio) const {
  torch::Tensor mel = MelPower(audio);
  // Power to dB against a reference of 1, floored at 1e-10, then at top_db below each clip's peak.
  torch::Tensor mel_db = mel.clamp_min_(1e-10).log10_().mul_(10.0);
  torch::Tensor floor = mel_db.flatten(1).amax(1) - options_.top_db;
  return mel_db.clamp_min_(floor.view({-1, 1, 1}));
}

// Elsewhere (a GPU, or no CpuMelSpectrogram plan) the STFT is written out (reflect padding by slice
// copies, frames as an unfold, one real FFT over the last axis) rather than torch::stft, which on
// the CPU was 2-3x slower for the same numbers: its frames come back as (batch, freq, time),
// strided for the FFT and transposed again for the mel product. Here every step works along
// contiguous rows.
torch::Tensor Mfcc::MelPower(const torch::Tensor& audio) const {
  if (cpu_mel_ && cpu_mel_->Accepts(audio)) return cpu_mel_->Compute(audio);
  const int64_t pad = options_.n_fft / 2;
  const int64_t frames = audio.size(1);
  // Centred frames with reflect padding: padded[pad - 1 - i] = audio[1 + i] on the left and
  // padded[pad + frames + i] = audio[frames - 2 - i] on the right.
  torch::Tensor padded = torch::empty({audio.size(0), frames + 2 * pad}, audio.options());
  padded.slice(1, pad, pad + frames).copy_(audio);
  padded.slice(1, 0, pad).copy_(audio.slice(1, 1, pad + 1).flip(1));
  padded.slice(1, pad + frames).copy_(audio.slice(1, frames - pad - 1, frames - 1).flip(1));
  torch::Tensor windowed = padded.unfold(1, options_.n_fft, options_.hop_length) * window_;
  torch::Tensor spectrum = torch::fft::rfft(windowed);  // (batch, time, n_freqs)
  torch::Tensor power = spectrum.abs().square_();       // (batch, time, n_freqs)
  return torch::matmul(power, mel_bank_);               // (batch, time, n_mels)
}

torch::Tensor Mfcc::FromMelDb(const torch::Tensor& mel_db) const {
  return torch::matmul(mel_db, dct_).transpose(1, 2).contiguous();  // (batch, n_mfcc, time)
}

}  // namespace dd::critic
