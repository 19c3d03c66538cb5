// Small synthesis building blocks for the default drum kit: oscillators, envelopes and filters.
// Deterministic: the same code writes the same kit, so the committed files can be checked.
#pragma once

#include <vector>

#include "common/random/rng.h"

namespace dd::kitgen {

using Signal = std::vector<float>;

Signal Silence(double seconds);
// Sine whose frequency glides exponentially from `start_hz` to `end_hz` with time constant
// `glide_seconds` (the classic analogue kick and tom).
Signal GlidingSine(double seconds, double start_hz, double end_hz, double glide_seconds);
Signal WhiteNoise(double seconds, Rng& rng);
// Sum of square waves at the given frequencies (metallic hats and cowbells).
Signal SquareCluster(double seconds, const std::vector<double>& frequencies);
Signal Sawtooth(double seconds, double hz);

// In-place processing.
void ExponentialDecay(Signal& signal, double time_constant_seconds);
void LinearAttack(Signal& signal, double seconds);
void HighPass(Signal& signal, double cutoff_hz);            // One-pole.
void LowPass(Signal& signal, double cutoff_hz);             // One-pole.
void BandPass(Signal& signal, double center_hz, double q);  // RBJ biquad.
void HardClip(Signal& signal, double drive);
void BitCrush(Signal& signal, int bits, int hold_samples);
void MixInto(Signal& destination, const Signal& source, double gain, double offset_seconds = 0.0);
// Scales to the given peak and fades the last 5 ms out so the sample ends at zero.
void Finish(Signal& signal, double peak);

}  // namespace dd::kitgen
