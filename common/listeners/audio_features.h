// What a simulated listener hears in a drum loop, measured from the audio alone: loudness,
// brightness, where the onsets fall on the step grid. Computed on the steady-state bar (the
// second bar of a rendered loop, which carries the first bar's tails), so every loop is heard
// the same way the critic hears it.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace dd::listeners {

struct LoopFeatures {
  double loudness_db = 0;           // RMS of the bar, dB full scale.
  double crest_db = 0;              // Peak over RMS, dB: high for punchy, transient loops.
  double spectral_centroid_hz = 0;  // Energy-weighted mean frequency: low is dark, high bright.
  double high_share = 0;            // Share of spectral energy above 4 kHz (hats, noise).
  double low_share = 0;             // Share of spectral energy below 200 Hz (kicks, toms).
  // Onset strength per step (positive log-spectral flux around the step's start).
  std::vector<double> step_onsets;
  // The same below 200 Hz: where the low drums hit.
  std::vector<double> low_step_onsets;
  double onset_density = 0;        // Mean of step_onsets: how much happens per step.
  double kick_on_beat = 0;         // Share of low onsets on beats (steps 0, 4, 8...): 0.25 if even.
  double offbeat_share = 0;        // Share of onsets on odd 16ths: syncopation.
  double half_bar_repetition = 0;  // Correlation of the first and second half-bar onsets, [-1, 1].
};

// Features of one bar of `steps` sixteenth notes, mono at `sample_rate`. Fails on a bar shorter
// than one analysis frame per step or on steps < 2.
absl::StatusOr<LoopFeatures> ComputeLoopFeatures(absl::Span<const float> bar, int steps,
                                                 int sample_rate);

// The steady-state bar (the second) of a rendered loop played at least twice.
absl::StatusOr<std::vector<float>> SteadyBarOfLoop(absl::Span<const float> loop_audio, int steps,
                                                   double bpm, int sample_rate);

}  // namespace dd::listeners
