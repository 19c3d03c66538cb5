#include "common/samples/mix_pcm.h"

#include <algorithm>
#include <cmath>

namespace dd {
namespace {

// Below this the sample is inaudible anyway (2^-100 is -602 dBFS); it keeps the scale a normal
// float and the frames' conversion free of overflow.
constexpr int kLowestExponent = -100;

}  // namespace

MixPcm ToMixPcm(absl::Span<const float> pcm) {
  MixPcm mix;
  mix.frames.assign(pcm.size(), 0);
  float highest = 0.0f;
  float lowest = 0.0f;
  for (float x : pcm) {
    if (!std::isfinite(x)) continue;  // The decoder rejects them; never undefined behaviour here.
    highest = std::max(highest, x);
    lowest = std::min(lowest, x);
  }
  if (highest == 0.0f && lowest == 0.0f) return mix;
  // The peak is below 2^exponent, so at scale 2^(exponent - 15) every frame fits; one power lower
  // fits too when the peak is a full-scale negative frame (e.g. -1.0 as -32768), and one higher
  // is needed when the positive end rounds up to 32768.
  int exponent = 0;
  std::frexp(std::max(highest, -lowest), &exponent);
  exponent = std::max(exponent - 1, kLowestExponent);
  const auto fits = [&](int e) {
    return std::nearbyint(std::ldexp(highest, 15 - e)) <= 32767.0f &&
           std::nearbyint(std::ldexp(lowest, 15 - e)) >= -32768.0f;
  };
  while (!fits(exponent))
    ++exponent;
  mix.scale = std::ldexp(1.0f, exponent - 15);
  // Multiplying by a power of two is exact; nearbyint rounds half to even in the default mode.
  const float to_units = std::ldexp(1.0f, 15 - exponent);
  for (size_t i = 0; i < pcm.size(); ++i) {
    if (std::isfinite(pcm[i]))
      mix.frames[i] = static_cast<int16_t>(std::nearbyint(pcm[i] * to_units));
  }
  return mix;
}

}  // namespace dd
