#include "common/session/protocol.h"

#include <algorithm>
#include <utility>

#include "common/random/rng.h"

namespace dd::session {

std::string_view SourceName(LoopSource source) {
  switch (source) {
    case LoopSource::kLearning:
      return "learning";
    case LoopSource::kInitial:
      return "initial";
    case LoopSource::kFinal:
      return "final";
  }
  return "learning";
}

std::optional<LoopSource> ParseSource(std::string_view name) {
  for (LoopSource source : {LoopSource::kLearning, LoopSource::kInitial, LoopSource::kFinal}) {
    if (SourceName(source) == name) return source;
  }
  return std::nullopt;
}

std::vector<LoopSource> PhaseTwoOrder(const ProtocolShape& shape) {
  std::vector<LoopSource> order;
  for (int i = 0; i < shape.phase2_per_critic; ++i)
    order.push_back(LoopSource::kInitial);
  for (int i = 0; i < shape.phase2_per_critic; ++i)
    order.push_back(LoopSource::kFinal);
  // Fisher-Yates from a stream of its own, so every replica derives the same order.
  Rng rng(Rng::SplitMix(shape.seed ^ 0x5048415345324f52ULL));
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[rng.UniformIndex(i)]);
  }
  return order;
}

std::optional<LoopPlan> PlanLoop(const ProtocolShape& shape, int position) {
  if (position < 1 || position > shape.total()) return std::nullopt;
  LoopPlan plan;
  plan.position = position;
  plan.sampling_seed = Rng::SplitMix(shape.seed + static_cast<uint64_t>(position));
  if (position <= shape.phase1_total) {
    plan.phase = 1;
    plan.source = LoopSource::kLearning;
    plan.critic_version =
        static_cast<uint64_t>(std::max(0, position - 1 - shape.phase1_critic_lag));
    return plan;
  }
  plan.phase = 2;
  plan.source = PhaseTwoOrder(shape)[static_cast<size_t>(position - shape.phase1_total - 1)];
  if (plan.source == LoopSource::kInitial) plan.critic_version = 0;
  return plan;
}

Phase PhaseAfter(const ProtocolShape& shape, int phase1_rated, int phase2_rated) {
  if (phase1_rated < shape.phase1_total) return Phase::kLearning;
  if (phase2_rated < 2 * shape.phase2_per_critic) return Phase::kEvaluation;
  return Phase::kComplete;
}

Results ComputeResults(const ProtocolShape& shape, int phase1_rated, int phase1_liked,
                       const std::vector<RatedPhaseTwoLoop>& phase2) {
  Results r;
  for (const RatedPhaseTwoLoop& loop : phase2) {
    if (loop.source == LoopSource::kInitial) {
      ++r.initial_rated;
      r.initial_liked += loop.liked;
    } else if (loop.source == LoopSource::kFinal) {
      ++r.final_rated;
      r.final_liked += loop.liked;
    }
  }
  auto share = [](int part, int whole) {
    return whole > 0 ? static_cast<double>(part) / whole : 0.0;
  };
  r.theta_init = share(r.initial_liked, r.initial_rated);
  r.theta_final = share(r.final_liked, r.final_rated);
  r.delta = r.theta_final - r.theta_init;
  r.phase1_like_rate = share(phase1_liked, phase1_rated);
  r.complete = phase1_rated == shape.phase1_total && r.initial_rated == shape.phase2_per_critic &&
               r.final_rated == shape.phase2_per_critic;
  return r;
}

}  // namespace dd::session
