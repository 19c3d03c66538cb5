// Samples drum loops that a critic likes: Markov chains over patterns whose proposals are the
// paper's symmetric mutation (generation.h), advanced in lockstep so that every chain's proposal
// is scored in one batch per step. Each returned loop is the end state of its own chain, never
// the best of several, so the output keeps the target distribution of the mode.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/pattern/generation.h"
#include "common/pattern/pattern.h"
#include "common/sampler/pattern_scorer.h"
#include "common/sampler/sampler_options.h"

namespace dd {

struct SampledPattern {
  Pattern pattern;
  double score = 0;                // The critic's P(like) for `pattern`.
  int steps_taken = 0;             // Proposals its chain evaluated.
  double acceptance_rate = 0;      // Accepted proposals / steps_taken (0 when no step was taken).
  bool threshold_reached = false;  // score >= threshold (threshold and hill-climb modes).
  bool capped = false;             // The step cap ended the chain (threshold and hill-climb).
};

struct SamplingJob {
  int count = 1;      // Loops to produce.
  uint64_t seed = 0;  // Every random draw of the job derives from it.
  // Loops that must not be returned, by Pattern::Fingerprint().
  absl::flat_hash_set<std::string> avoid_fingerprints = {};
  // Each returned loop joins the avoid set, so a job never returns the same loop twice. Off only
  // where independent draws matter more (statistical tests of the sampler).
  bool distinct = true;
  // Polled before every step; a non-OK status (deadline, cancellation) stops all chains and is
  // returned. Empty: never stop early.
  std::function<absl::Status()> keep_going = nullptr;
  // Receives each loop as soon as its chain ends; a non-OK status stops sampling and is returned.
  std::function<absl::Status(SampledPattern)> on_loop = nullptr;
};

// Runs min(options.chains, job.count) chains in lockstep; a chain that delivers a loop restarts
// from a fresh random pattern while more loops are needed. Fails with RESOURCE_EXHAUSTED when a
// chain can find nothing outside the avoid set within its step budget, and with the scorer's
// status when scoring fails.
absl::Status RunSampler(const PatternGenerator& generator, PatternScorer& scorer,
                        const SamplerOptions& options, SamplingJob job);

// RunSampler collecting the loops in the order they were produced.
absl::StatusOr<std::vector<SampledPattern>> SampleLoops(const PatternGenerator& generator,
                                                        PatternScorer& scorer,
                                                        const SamplerOptions& options,
                                                        SamplingJob job);

}  // namespace dd
