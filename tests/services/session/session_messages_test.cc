#include "services/session/session_messages.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dd {
namespace {

namespace v1 = deepdrummer::v1;

storage::SessionRecord Session(int phase1, int phase2_per_critic) {
  storage::SessionRecord session;
  session.session_id = "s";
  session.phase1_total = phase1;
  session.phase2_per_critic = phase2_per_critic;
  session.seed = 3;
  return session;
}

storage::LoopRecord Loop(int position, const std::string& source, std::optional<bool> liked) {
  storage::LoopRecord loop;
  loop.loop_id = "loop-" + std::to_string(position);
  loop.position = position;
  loop.phase = source == "learning" ? 1 : 2;
  loop.source = source;
  const absl::Time shown = absl::FromUnixSeconds(1000 + 10 * position);
  loop.prepared_at = shown - absl::Seconds(2);
  loop.presented_at = shown;
  if (liked.has_value()) {
    loop.rating = storage::RatingRecord{};
    loop.rating->liked = *liked;
    loop.rating->rated_at = shown + absl::Milliseconds(4500);
    loop.rating->request_id = "rate-" + std::to_string(position);
  }
  return loop;
}

TEST(SessionMessagesTest, ResultsCountEachCriticsRatedLoops) {
  storage::SessionRecord session = Session(4, 2);
  const std::vector<storage::LoopRecord> loops = {
      Loop(1, "learning", true), Loop(2, "learning", false), Loop(3, "learning", true),
      Loop(4, "learning", true), Loop(5, "initial", false),  Loop(6, "final", true),
      Loop(7, "initial", true),  Loop(8, "final", true),     Loop(9, "final", std::nullopt)};
  v1::SessionResults results = ResultsOf(session, loops);
  EXPECT_EQ(results.session_id(), "s");
  EXPECT_EQ(results.init_rated(), 2u);
  EXPECT_EQ(results.init_liked(), 1u);
  EXPECT_EQ(results.final_rated(), 2u);
  EXPECT_EQ(results.final_liked(), 2u);
  EXPECT_DOUBLE_EQ(results.theta_init(), 0.5);
  EXPECT_DOUBLE_EQ(results.theta_final(), 1.0);
  EXPECT_DOUBLE_EQ(results.delta(), 0.5);
  EXPECT_DOUBLE_EQ(results.phase1_like_rate(), 0.75);
  EXPECT_TRUE(results.complete());
  EXPECT_FALSE(HasResults(session, results)) << "no final critic recorded yet";
  session.final_critic_version = 4;
  results = ResultsOf(session, loops);
  EXPECT_EQ(results.final_critic_version(), 4u);
  EXPECT_TRUE(HasResults(session, results));

  // Before any Phase II rating there is nothing to report, final critic or not.
  const std::vector<storage::LoopRecord> phase1_only(loops.begin(), loops.begin() + 4);
  const v1::SessionResults early = ResultsOf(session, phase1_only);
  EXPECT_FALSE(early.complete());
  EXPECT_FALSE(HasResults(session, early));
  // A session without Phase II reports once its final critic is known.
  storage::SessionRecord learning_only = Session(4, 0);
  learning_only.final_critic_version = 4;
  EXPECT_TRUE(HasResults(learning_only, ResultsOf(learning_only, phase1_only)));
}

TEST(SessionMessagesTest, AnExportedLoopSaysWhenItWasShownAndRated) {
  storage::LoopRecord rated = Loop(6, "final", true);
  rated.critic_version = 80;
  rated.score = 0.97;
  rated.steps_taken = 123;
  rated.capped = true;
  const v1::ExportedLoop out = ExportedLoopOf(rated);
  EXPECT_EQ(out.loop_id(), "loop-6");
  EXPECT_EQ(out.position(), 6u);
  EXPECT_EQ(out.phase(), v1::PHASE_EVALUATION);
  EXPECT_EQ(out.source(), "final");
  EXPECT_EQ(out.critic_version(), 80u);
  EXPECT_DOUBLE_EQ(out.score(), 0.97);
  EXPECT_EQ(out.steps_taken(), 123u);
  EXPECT_TRUE(out.capped());
  EXPECT_EQ(out.rating(), v1::RATING_LIKE);
  EXPECT_EQ(out.request_id(), "rate-6");
  EXPECT_EQ(out.presented_at().seconds(), 1060);
  EXPECT_EQ(out.prepared_at().seconds(), 1058);
  EXPECT_DOUBLE_EQ(out.seconds_to_rate(), 4.5);

  storage::LoopRecord waiting = Loop(7, "initial", std::nullopt);
  waiting.presented_at.reset();
  const v1::ExportedLoop unseen = ExportedLoopOf(waiting);
  EXPECT_FALSE(unseen.has_presented_at());
  EXPECT_FALSE(unseen.has_rated_at());
  EXPECT_EQ(unseen.rating(), v1::RATING_UNSPECIFIED);
  EXPECT_EQ(unseen.seconds_to_rate(), 0.0);
}

TEST(SessionMessagesTest, ProgressAndPhaseFollowTheCounts) {
  const storage::SessionRecord session = Session(3, 2);
  storage::SessionCounts counts;
  counts.phase1_rated = 2;
  v1::Progress progress;
  FillProgress(session, counts, &progress);
  EXPECT_EQ(progress.phase1_rated(), 2u);
  EXPECT_EQ(progress.phase1_total(), 3u);
  EXPECT_EQ(progress.phase2_total(), 4u);  // Two critics' worth.
  EXPECT_EQ(PhaseOf(session, counts), v1::PHASE_LEARNING);
  counts.phase1_rated = 3;
  EXPECT_EQ(PhaseOf(session, counts), v1::PHASE_EVALUATION);
  counts.phase2_rated = 4;
  EXPECT_EQ(PhaseOf(session, counts), v1::PHASE_COMPLETE);
}

}  // namespace
}  // namespace dd
