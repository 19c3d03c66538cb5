// The paper's two-phase protocol (section 4.3) as pure rules, so they can be tested without a
// database or a network: which loop comes at each position, from which critic, and the results
// of section 5.
//
// Phase I, positions 1..phase1_total: each loop is sampled (Metropolis-Hastings) from the critic
// as it is after every earlier rating, i.e. critic version position - 1; with a critic lag of 1,
// after every earlier rating but the last, version max(0, position - 2). Phase II, the next
// 2 * per_critic positions: threshold-mode loops, half from the untrained critic (version 0) and
// half from the final one, in an order shuffled from the session's seed and never revealed.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace dd::session {

enum class LoopSource { kLearning, kInitial, kFinal };
std::string_view SourceName(LoopSource source);  // "learning", "initial", "final".
std::optional<LoopSource> ParseSource(std::string_view name);

enum class Phase { kLearning, kEvaluation, kComplete };

struct ProtocolShape {
  int phase1_total = 80;
  int phase2_per_critic = 30;
  uint64_t seed = 0;
  int phase1_critic_lag = 0;  // 0 (the paper) or 1.

  int total() const { return phase1_total + 2 * phase2_per_critic; }
};

struct LoopPlan {
  int position = 0;  // 1-based.
  int phase = 1;     // 1 or 2.
  LoopSource source = LoopSource::kLearning;
  // Phase I: the critic version to sample from (= ratings before this loop, less the lag).
  // Phase II initial: 0.
  // Phase II final: unset, the version that ended Phase I.
  std::optional<uint64_t> critic_version;
  uint64_t sampling_seed = 0;  // Derived from the session seed and the position.
};

// The source of each Phase II loop in presentation order: per_critic of each, shuffled.
std::vector<LoopSource> PhaseTwoOrder(const ProtocolShape& shape);

// The plan for `position`; nullopt past the end of the session.
std::optional<LoopPlan> PlanLoop(const ProtocolShape& shape, int position);

Phase PhaseAfter(const ProtocolShape& shape, int phase1_rated, int phase2_rated);

struct RatedPhaseTwoLoop {
  LoopSource source = LoopSource::kInitial;
  bool liked = false;
};

struct Results {
  int initial_rated = 0, initial_liked = 0, final_rated = 0, final_liked = 0;
  double theta_init = 0;   // Liked share of the initial critic's loops.
  double theta_final = 0;  // Liked share of the final critic's loops.
  double delta = 0;        // theta_final - theta_init.
  double phase1_like_rate = 0;
  bool complete = false;
};

Results ComputeResults(const ProtocolShape& shape, int phase1_rated, int phase1_liked,
                       const std::vector<RatedPhaseTwoLoop>& phase2);

}  // namespace dd::session
