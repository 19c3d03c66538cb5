// The sampling modes of the generator (paper section 3.4, appendix C) and their options.
#pragma once

#include "absl/status/status.h"

namespace dd {

enum class SamplingMode {
  // Phase I (paper eq. 2): at least min_steps Metropolis-Hastings steps; the state is then
  // distributed as f(x)^(1/temperature), normalised.
  kMetropolis,
  // Phase II (paper eq. 3): Metropolis-Hastings until f(x) >= threshold, at most max_steps; at
  // the cap the best state seen is returned, flagged as capped.
  kThreshold,
  // Greedy: accept only improvements, until f(x) >= threshold or max_steps.
  kHillClimb,
};

struct SamplerOptions {
  SamplingMode mode = SamplingMode::kMetropolis;
  double temperature = 1.0;  // s in the acceptance min(1, (f(x')/f(x))^(1/s)); > 0.
  int min_steps = 100;       // Metropolis: chain length before a state may be returned.
  double threshold = 0.95;   // Threshold and hill-climb: the score that ends a chain.
  // Threshold and hill-climb: step cap. Metropolis: extra steps allowed after min_steps while the
  // chain sits on a loop it must avoid.
  int max_steps = 500;
  int chains = 8;  // Chains advanced in lockstep (one scoring batch per step); at most kMaxChains.

  static constexpr int kMaxChains = 256;
  static constexpr int kMaxStepLimit = 100000;
};

// INVALID_ARGUMENT naming the first option out of range.
absl::Status ValidateSamplerOptions(const SamplerOptions& options);

}  // namespace dd
