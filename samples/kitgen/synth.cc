#include "samples/kitgen/synth.h"

#include <algorithm>
#include <cmath>

#include "common/audio/audio_constants.h"

namespace dd::kitgen {
namespace {

constexpr double kRate = kSampleRate;
constexpr double kTwoPi = 2.0 * M_PI;

size_t Frames(double seconds) {
  return static_cast<size_t>(std::lround(seconds * kRate));
}

}  // namespace

Signal Silence(double seconds) {
  return Signal(Frames(seconds), 0.0f);
}

Signal GlidingSine(double seconds, double start_hz, double end_hz, double glide_seconds) {
  Signal out(Frames(seconds));
  double phase = 0.0;
  for (size_t i = 0; i < out.size(); ++i) {
    const double t = static_cast<double>(i) / kRate;
    const double hz = end_hz + (start_hz - end_hz) * std::exp(-t / glide_seconds);
    out[i] = static_cast<float>(std::sin(phase));
    phase += kTwoPi * hz / kRate;
  }
  return out;
}

Signal WhiteNoise(double seconds, Rng& rng) {
  Signal out(Frames(seconds));
  for (float& x : out)
    x = static_cast<float>(rng.Uniform01() * 2.0 - 1.0);
  return out;
}

Signal SquareCluster(double seconds, const std::vector<double>& frequencies) {
  Signal out(Frames(seconds), 0.0f);
  for (double hz : frequencies) {
    for (size_t i = 0; i < out.size(); ++i) {
      const double cycles = hz * static_cast<double>(i) / kRate;
      out[i] += (cycles - std::floor(cycles)) < 0.5 ? 1.0f : -1.0f;
    }
  }
  const auto scale = static_cast<float>(1.0 / std::max<size_t>(frequencies.size(), 1));
  for (float& x : out)
    x *= scale;
  return out;
}

Signal Sawtooth(double seconds, double hz) {
  Signal out(Frames(seconds));
  for (size_t i = 0; i < out.size(); ++i) {
    const double cycles = hz * static_cast<double>(i) / kRate;
    out[i] = static_cast<float>(2.0 * (cycles - std::floor(cycles)) - 1.0);
  }
  return out;
}

void ExponentialDecay(Signal& signal, double time_constant_seconds) {
  const double factor = std::exp(-1.0 / (time_constant_seconds * kRate));
  double gain = 1.0;
  for (float& x : signal) {
    x = static_cast<float>(x * gain);
    gain *= factor;
  }
}

void LinearAttack(Signal& signal, double seconds) {
  const size_t n = std::min(Frames(seconds), signal.size());
  for (size_t i = 0; i < n; ++i)
    signal[i] *= static_cast<float>(i) / static_cast<float>(n);
}

void HighPass(Signal& signal, double cutoff_hz) {
  const double rc = 1.0 / (kTwoPi * cutoff_hz);
  const double alpha = rc / (rc + 1.0 / kRate);
  double previous_in = 0.0;
  double previous_out = 0.0;
  for (float& x : signal) {
    const double out = alpha * (previous_out + x - previous_in);
    previous_in = x;
    previous_out = out;
    x = static_cast<float>(out);
  }
}

void LowPass(Signal& signal, double cutoff_hz) {
  const double dt = 1.0 / kRate;
  const double alpha = dt / (1.0 / (kTwoPi * cutoff_hz) + dt);
  double state = 0.0;
  for (float& x : signal) {
    state += alpha * (x - state);
    x = static_cast<float>(state);
  }
}

void BandPass(Signal& signal, double center_hz, double q) {
  // Constant 0 dB peak gain band-pass from the Audio EQ Cookbook.
  const double w0 = kTwoPi * center_hz / kRate;
  const double alpha = std::sin(w0) / (2.0 * q);
  const double a0 = 1.0 + alpha;
  const double b0 = alpha / a0;
  const double b2 = -alpha / a0;
  const double a1 = -2.0 * std::cos(w0) / a0;
  const double a2 = (1.0 - alpha) / a0;
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (float& x : signal) {
    const double y = b0 * x + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1;
    x1 = x;
    y2 = y1;
    y1 = y;
    x = static_cast<float>(y);
  }
}

void HardClip(Signal& signal, double drive) {
  for (float& x : signal)
    x = static_cast<float>(std::clamp(x * drive, -1.0, 1.0));
}

void BitCrush(Signal& signal, int bits, int hold_samples) {
  const double levels = std::pow(2.0, bits - 1);
  float held = 0.0f;
  for (size_t i = 0; i < signal.size(); ++i) {
    if (i % static_cast<size_t>(hold_samples) == 0) {
      held = static_cast<float>(std::round(signal[i] * levels) / levels);
    }
    signal[i] = held;
  }
}

void MixInto(Signal& destination, const Signal& source, double gain, double offset_seconds) {
  const size_t offset = Frames(offset_seconds);
  if (destination.size() < offset + source.size()) destination.resize(offset + source.size(), 0.0f);
  for (size_t i = 0; i < source.size(); ++i) {
    destination[offset + i] += static_cast<float>(gain * source[i]);
  }
}

void Finish(Signal& signal, double peak) {
  float max_magnitude = 0.0f;
  for (float x : signal)
    max_magnitude = std::max(max_magnitude, std::fabs(x));
  if (max_magnitude > 0.0f) {
    const auto scale = static_cast<float>(peak / max_magnitude);
    for (float& x : signal)
      x *= scale;
  }
  const size_t fade = std::min(Frames(0.005), signal.size());
  for (size_t i = 0; i < fade; ++i) {
    signal[signal.size() - 1 - i] *= static_cast<float>(i) / static_cast<float>(fade);
  }
}

}  // namespace dd::kitgen
