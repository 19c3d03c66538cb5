// What the samplers need from a critic: P(like) for a batch of patterns. Two implementations:
// in process through the critic library (local_critic_scorer.h) and over gRPC to the critic
// service (services/generator). The samplers score every chain's proposal in one call per step,
// so a batching implementation keeps a GPU busy.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/pattern/pattern.h"

namespace dd {

class PatternScorer {
 public:
  virtual ~PatternScorer() = default;
  // One score in [0, 1] per pattern, in order.
  virtual absl::StatusOr<std::vector<double>> Score(absl::Span<const Pattern> patterns) = 0;
};

}  // namespace dd
