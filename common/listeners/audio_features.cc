#include "common/listeners/audio_features.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

#include "absl/strings/str_cat.h"

namespace dd::listeners {
namespace {

constexpr int kFrameSize = 1024;  // 23 ms at 44.1 kHz: resolves a 16th note (125 ms at 120 bpm).
constexpr int kHop = 256;
constexpr double kHighCutHz = 4000;
constexpr double kLowCutHz = 200;
// Compression before the flux, so a quiet hat's onset counts and a loud kick does not drown it.
constexpr double kCompression = 100;

// In-place iterative radix-2 FFT; n is a power of two.
void Fft(std::vector<std::complex<double>>& x) {
  const size_t n = x.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1)
      j ^= bit;
    j ^= bit;
    if (i < j) std::swap(x[i], x[j]);
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const double angle = -2 * std::numbers::pi / static_cast<double>(len);
    const std::complex<double> step(std::cos(angle), std::sin(angle));
    for (size_t start = 0; start < n; start += len) {
      std::complex<double> w(1);
      for (size_t k = 0; k < len / 2; ++k) {
        const std::complex<double> even = x[start + k];
        const std::complex<double> odd = w * x[start + k + len / 2];
        x[start + k] = even + odd;
        x[start + k + len / 2] = even - odd;
        w *= step;
      }
    }
  }
}

// Magnitude spectra of frames every kHop samples; the bar is treated as circular, because a
// steady-state bar is one period of a loop.
std::vector<std::vector<double>> CircularMagnitudes(absl::Span<const float> bar) {
  std::vector<double> window(kFrameSize);
  for (int i = 0; i < kFrameSize; ++i) {
    window[i] = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * i / kFrameSize);
  }
  const size_t frames = bar.size() / kHop;
  std::vector<std::vector<double>> magnitudes(frames, std::vector<double>(kFrameSize / 2 + 1));
  std::vector<std::complex<double>> buffer(kFrameSize);
  for (size_t f = 0; f < frames; ++f) {
    for (int i = 0; i < kFrameSize; ++i) {
      buffer[i] = window[i] * bar[(f * kHop + i) % bar.size()];
    }
    Fft(buffer);
    for (int k = 0; k <= kFrameSize / 2; ++k) {
      magnitudes[f][k] = std::abs(buffer[k]) / (kFrameSize / 2);
    }
  }
  return magnitudes;
}

double Correlation(absl::Span<const double> a, absl::Span<const double> b) {
  const double n = static_cast<double>(a.size());
  double mean_a = 0, mean_b = 0;
  for (size_t i = 0; i < a.size(); ++i)
    mean_a += a[i] / n, mean_b += b[i] / n;
  double cov = 0, var_a = 0, var_b = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    cov += (a[i] - mean_a) * (b[i] - mean_b);
    var_a += (a[i] - mean_a) * (a[i] - mean_a);
    var_b += (b[i] - mean_b) * (b[i] - mean_b);
  }
  // A flat half-bar (all steps equal) repeats itself perfectly.
  if (var_a <= 1e-12 || var_b <= 1e-12) return var_a <= 1e-12 && var_b <= 1e-12 ? 1.0 : 0.0;
  return cov / std::sqrt(var_a * var_b);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

double Share(double part, double whole) {
  return whole > 0 ? part / whole : 0;
}

}  // namespace

absl::StatusOr<LoopFeatures> ComputeLoopFeatures(absl::Span<const float> bar, int steps,
                                                 int sample_rate) {
  if (steps < 2) return absl::InvalidArgumentError(absl::StrCat("steps must be >= 2, got ", steps));
  if (sample_rate <= 0) return absl::InvalidArgumentError("sample rate must be positive");
  if (bar.size() < static_cast<size_t>(steps) * kFrameSize / 2 || bar.size() < kFrameSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a bar of ", bar.size(), " samples is too short to analyse ", steps, " steps"));
  }
  LoopFeatures features;
  double sum_squares = 0, peak = 0;
  for (float s : bar) {
    sum_squares += static_cast<double>(s) * s;
    peak = std::max(peak, static_cast<double>(std::fabs(s)));
  }
  const double rms = std::sqrt(sum_squares / static_cast<double>(bar.size()));
  features.loudness_db = 20 * std::log10(std::max(rms, 1e-9));
  features.crest_db = 20 * std::log10(std::max(peak, 1e-9) / std::max(rms, 1e-9));

  const auto magnitudes = CircularMagnitudes(bar);
  const double bin_hz = static_cast<double>(sample_rate) / kFrameSize;
  const int low_bins = static_cast<int>(kLowCutHz / bin_hz);
  double energy = 0, weighted = 0, high = 0, low = 0;
  for (const auto& spectrum : magnitudes) {
    for (size_t k = 1; k < spectrum.size(); ++k) {
      const double e = spectrum[k] * spectrum[k];
      const double hz = static_cast<double>(k) * bin_hz;
      energy += e;
      weighted += e * hz;
      if (hz >= kHighCutHz) high += e;
      if (static_cast<int>(k) <= low_bins) low += e;
    }
  }
  features.spectral_centroid_hz = Share(weighted, energy);
  features.high_share = Share(high, energy);
  features.low_share = Share(low, energy);

  // Positive log-magnitude flux per frame, broadband and below 200 Hz.
  const size_t frames = magnitudes.size();
  std::vector<double> flux(frames), low_flux(frames);
  for (size_t f = 0; f < frames; ++f) {
    const auto& now = magnitudes[f];
    const auto& before = magnitudes[(f + frames - 1) % frames];
    for (size_t k = 1; k < now.size(); ++k) {
      const double rise = std::log1p(kCompression * now[k]) - std::log1p(kCompression * before[k]);
      if (rise <= 0) continue;
      flux[f] += rise;
      if (static_cast<int>(k) <= low_bins) low_flux[f] += rise;
    }
  }
  // A hit at sample p enters frames starting in (p - kFrameSize, p]; their flux is its onset.
  features.step_onsets.assign(static_cast<size_t>(steps), 0);
  features.low_step_onsets.assign(static_cast<size_t>(steps), 0);
  for (int s = 0; s < steps; ++s) {
    const int64_t start = static_cast<int64_t>(bar.size()) * s / steps;
    const int64_t n = static_cast<int64_t>(frames);
    const int64_t first = FloorDiv(start - kFrameSize, kHop) + 1;
    for (int64_t f = first; f <= FloorDiv(start, kHop); ++f) {
      const auto wrapped = static_cast<size_t>(((f % n) + n) % n);
      features.step_onsets[s] += flux[wrapped];
      features.low_step_onsets[s] += low_flux[wrapped];
    }
  }
  double total = 0, low_total = 0, on_beat_low = 0, offbeat = 0;
  for (int s = 0; s < steps; ++s) {
    total += features.step_onsets[s];
    low_total += features.low_step_onsets[s];
    if (s % 4 == 0) on_beat_low += features.low_step_onsets[s];
    if (s % 2 == 1) offbeat += features.step_onsets[s];
  }
  features.onset_density = total / steps;
  features.kick_on_beat = Share(on_beat_low, low_total);
  features.offbeat_share = Share(offbeat, total);
  const size_t half = static_cast<size_t>(steps / 2);
  features.half_bar_repetition =
      Correlation(absl::MakeConstSpan(features.step_onsets).subspan(0, half),
                  absl::MakeConstSpan(features.step_onsets).subspan(half, half));
  return features;
}

absl::StatusOr<std::vector<float>> SteadyBarOfLoop(absl::Span<const float> loop_audio, int steps,
                                                   double bpm, int sample_rate) {
  if (steps < 2 || bpm <= 0 || sample_rate <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid loop shape: steps ", steps, ", bpm ", bpm, ", rate ", sample_rate));
  }
  // Bar r starts at floor(r * steps * 60 / bpm / 4 * rate), as the renderer places it.
  const double bar_seconds = steps * 60.0 / bpm / 4.0;
  const auto bar_start = static_cast<size_t>(std::floor(bar_seconds * sample_rate));
  const auto bar_end = static_cast<size_t>(std::floor(2 * bar_seconds * sample_rate));
  if (loop_audio.size() < bar_end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the audio holds ", loop_audio.size(), " samples, fewer than two bars (", bar_end, ")"));
  }
  return std::vector<float>(loop_audio.begin() + static_cast<std::ptrdiff_t>(bar_start),
                            loop_audio.begin() + static_cast<std::ptrdiff_t>(bar_end));
}

}  // namespace dd::listeners
