#include "services/session/session_messages.h"

#include "common/session/protocol.h"
#include "services/session/session_shape.h"
#include "services/shared/proto_convert.h"

namespace dd {
namespace v1 = deepdrummer::v1;
namespace {

v1::Phase PhaseMessage(session::Phase phase) {
  switch (phase) {
    case session::Phase::kLearning:
      return v1::PHASE_LEARNING;
    case session::Phase::kEvaluation:
      return v1::PHASE_EVALUATION;
    case session::Phase::kComplete:
      return v1::PHASE_COMPLETE;
  }
  return v1::PHASE_UNSPECIFIED;
}

}  // namespace

void FillUser(const storage::UserRecord& user, v1::User* out) {
  out->set_user_id(user.user_id);
  out->set_display_name(user.display_name);
  TimestampToProto(user.created_at, out->mutable_created_at());
}

void FillProgress(const storage::SessionRecord& session, const storage::SessionCounts& counts,
                  v1::Progress* out) {
  out->set_phase1_rated(static_cast<uint32_t>(counts.phase1_rated));
  out->set_phase1_total(static_cast<uint32_t>(session.phase1_total));
  out->set_phase2_rated(static_cast<uint32_t>(counts.phase2_rated));
  out->set_phase2_total(static_cast<uint32_t>(2 * session.phase2_per_critic));
}

v1::Phase PhaseOf(const storage::SessionRecord& session, const storage::SessionCounts& counts) {
  return PhaseMessage(
      session::PhaseAfter(ShapeOf(session), counts.phase1_rated, counts.phase2_rated));
}

v1::SessionResults ResultsOf(const storage::SessionRecord& session,
                             const std::vector<storage::LoopRecord>& loops) {
  int phase1_rated = 0, phase1_liked = 0;
  std::vector<session::RatedPhaseTwoLoop> phase2;
  for (const storage::LoopRecord& loop : loops) {
    if (!loop.rating.has_value()) continue;
    if (loop.phase == 1) {
      ++phase1_rated;
      phase1_liked += loop.rating->liked;
    } else if (auto source = session::ParseSource(loop.source); source.has_value()) {
      phase2.push_back({*source, loop.rating->liked});
    }
  }
  const session::Results r =
      session::ComputeResults(ShapeOf(session), phase1_rated, phase1_liked, phase2);
  v1::SessionResults out;
  out.set_session_id(session.session_id);
  out.set_theta_init(r.theta_init);
  out.set_theta_final(r.theta_final);
  out.set_delta(r.delta);
  out.set_init_rated(static_cast<uint32_t>(r.initial_rated));
  out.set_init_liked(static_cast<uint32_t>(r.initial_liked));
  out.set_final_rated(static_cast<uint32_t>(r.final_rated));
  out.set_final_liked(static_cast<uint32_t>(r.final_liked));
  out.set_phase1_like_rate(r.phase1_like_rate);
  out.set_final_critic_version(session.final_critic_version.value_or(0));
  out.set_complete(r.complete);
  return out;
}

bool HasResults(const storage::SessionRecord& session, const v1::SessionResults& results) {
  if (!session.final_critic_version.has_value()) return false;
  return session.phase2_per_critic == 0 || results.init_rated() + results.final_rated() > 0;
}

v1::ExportedLoop ExportedLoopOf(const storage::LoopRecord& loop) {
  v1::ExportedLoop out;
  out.set_loop_id(loop.loop_id);
  out.set_position(static_cast<uint32_t>(loop.position));
  out.set_phase(loop.phase == 1 ? v1::PHASE_LEARNING : v1::PHASE_EVALUATION);
  out.set_source(loop.source);
  out.mutable_loop()->ParseFromString(loop.pattern);
  out.set_critic_version(loop.critic_version);
  out.set_score(loop.score);
  out.set_steps_taken(static_cast<uint32_t>(loop.steps_taken));
  out.set_capped(loop.capped);
  TimestampToProto(loop.prepared_at, out.mutable_prepared_at());
  if (loop.presented_at) TimestampToProto(*loop.presented_at, out.mutable_presented_at());
  if (loop.rating) {
    out.set_rating(loop.rating->liked ? v1::RATING_LIKE : v1::RATING_DISLIKE);
    TimestampToProto(loop.rating->rated_at, out.mutable_rated_at());
    out.set_request_id(loop.rating->request_id);
    if (loop.presented_at) {
      out.set_seconds_to_rate(absl::ToDoubleSeconds(loop.rating->rated_at - *loop.presented_at));
    }
  }
  return out;
}

}  // namespace dd
