#include "common/session/protocol.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace dd::session {
namespace {

TEST(ProtocolTest, PhaseOneLoopsComeFromTheCriticThatSawEveryEarlierRating) {
  const ProtocolShape shape{80, 30, 5};
  for (int position = 1; position <= 80; ++position) {
    auto plan = PlanLoop(shape, position);
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->phase, 1);
    EXPECT_EQ(plan->source, LoopSource::kLearning);
    EXPECT_EQ(plan->critic_version, static_cast<uint64_t>(position - 1));
  }
  EXPECT_FALSE(PlanLoop(shape, 0).has_value());
  EXPECT_FALSE(PlanLoop(shape, 141).has_value());
}

TEST(ProtocolTest, WithALagOfOnePhaseOneLoopsComeFromTheCriticThatSawAllButTheLastRating) {
  const ProtocolShape shape{80, 30, 5, /*phase1_critic_lag=*/1};
  EXPECT_EQ(PlanLoop(shape, 1)->critic_version, 0u);
  EXPECT_EQ(PlanLoop(shape, 2)->critic_version, 0u);
  for (int position = 3; position <= 80; ++position) {
    EXPECT_EQ(PlanLoop(shape, position)->critic_version, static_cast<uint64_t>(position - 2));
  }
  // Phase II does not lag: its final loops come from the critic that saw all 80 ratings.
  EXPECT_EQ(PhaseTwoOrder(shape), PhaseTwoOrder({80, 30, 5}));
  for (int position = 81; position <= 140; ++position) {
    auto plan = PlanLoop(shape, position);
    EXPECT_EQ(plan->phase, 2);
    EXPECT_EQ(plan->critic_version.has_value(), plan->source == LoopSource::kInitial);
  }
}

TEST(ProtocolTest, PhaseTwoIsAnEvenShuffleFixedBySeed) {
  const ProtocolShape shape{80, 30, 5};
  int initial = 0, final_count = 0;
  for (int position = 81; position <= 140; ++position) {
    auto plan = PlanLoop(shape, position);
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->phase, 2);
    if (plan->source == LoopSource::kInitial) {
      ++initial;
      EXPECT_EQ(plan->critic_version, 0u);
    } else {
      ++final_count;
      EXPECT_EQ(plan->source, LoopSource::kFinal);
      EXPECT_FALSE(plan->critic_version.has_value());
    }
  }
  EXPECT_EQ(initial, 30);
  EXPECT_EQ(final_count, 30);
  EXPECT_EQ(PhaseTwoOrder(shape), PhaseTwoOrder(shape));
  EXPECT_NE(PhaseTwoOrder(shape), PhaseTwoOrder({80, 30, 6}));
  // Not the unshuffled order (30 initial then 30 final).
  const auto order = PhaseTwoOrder(shape);
  EXPECT_NE(std::count(order.begin(), order.begin() + 30, LoopSource::kInitial), 30);
}

TEST(ProtocolTest, ResultsFollowSectionFive) {
  const ProtocolShape shape{4, 2, 1};
  EXPECT_EQ(PhaseAfter(shape, 3, 0), Phase::kLearning);
  EXPECT_EQ(PhaseAfter(shape, 4, 3), Phase::kEvaluation);
  EXPECT_EQ(PhaseAfter(shape, 4, 4), Phase::kComplete);
  const Results r = ComputeResults(shape, 4, 1,
                                   {{LoopSource::kInitial, false},
                                    {LoopSource::kFinal, true},
                                    {LoopSource::kInitial, true},
                                    {LoopSource::kFinal, true}});
  EXPECT_DOUBLE_EQ(r.theta_init, 0.5);
  EXPECT_DOUBLE_EQ(r.theta_final, 1.0);
  EXPECT_DOUBLE_EQ(r.delta, 0.5);
  EXPECT_DOUBLE_EQ(r.phase1_like_rate, 0.25);
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(ComputeResults(shape, 4, 1, {{LoopSource::kFinal, true}}).complete);
  EXPECT_EQ(ParseSource("final"), LoopSource::kFinal);
  EXPECT_FALSE(ParseSource("nope").has_value());
}

}  // namespace
}  // namespace dd::session
