// Scores patterns in process: renders each to the steady-state clip the critic hears and runs
// the critic library on the batch. For tests, benchmarks and single-process use; the generator
// service scores over gRPC instead (services/generator/remote_critic_scorer.h).
#pragma once

#include <vector>

#include "common/critic/critic.h"
#include "common/render/renderer.h"
#include "common/sampler/pattern_scorer.h"

namespace dd {

class LocalCriticScorer final : public PatternScorer {
 public:
  // Neither is owned; both must outlive the scorer. The critic is not thread-safe, so neither is
  // this scorer.
  LocalCriticScorer(const Renderer& renderer, critic::Critic& critic)
      : renderer_(renderer), critic_(critic) {}

  absl::StatusOr<std::vector<double>> Score(absl::Span<const Pattern> patterns) override;

 private:
  const Renderer& renderer_;
  critic::Critic& critic_;
  std::vector<float> clips_;  // Reused between calls: a batch of clips is megabytes.
};

}  // namespace dd
