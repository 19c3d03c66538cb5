#include "services/ddsim/listener_session.h"

#include <chrono>
#include <cmath>
#include <thread>
#include <utility>

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "common/stats/statistics.h"
#include "services/ddsim/hearing.h"
#include "services/shared/request_id.h"
#include "services/shared/status_mapping.h"

namespace dd::sim {
namespace v1 = deepdrummer::v1;

namespace {

bool Retryable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) || absl::IsAborted(status);
}

bool Stopped(const std::atomic<bool>* stop) {
  return stop != nullptr && stop->load();
}

// Sleeps up to `duration`, waking early when asked to stop.
void Think(absl::Duration duration, const std::atomic<bool>* stop) {
  const absl::Time until = absl::Now() + duration;
  while (!Stopped(stop) && absl::Now() < until) {
    absl::SleepFor(std::min(until - absl::Now(), absl::Milliseconds(100)));
  }
}

// Every call of the session goes through here: a deadline, its latency recorded, and retries of
// transient failures. Retrying is safe because every call is idempotent (NextLoop returns the
// same loop until it is rated; creations and ratings carry idempotency keys).
//
// Each call carries a request id, "<listener key>-<call number>" (the same over its retries), so
// that a failure ddsim reports can be found in the services' logs.
class Caller {
 public:
  Caller(const SessionPlan& plan, CallRecorder& recorder, const std::atomic<bool>* stop,
         std::string key)
      : plan_(plan), recorder_(recorder), stop_(stop), key_(std::move(key)) {}

  template <typename Request, typename Response, typename Method>
  absl::Status Call(const char* name, Method method, const Request& request, Response* response) {
    const std::string request_id = absl::StrCat(key_, "-", ++calls_);
    absl::Status status;
    for (int attempt = 1; attempt <= plan_.max_attempts; ++attempt) {
      if (Stopped(stop_)) return absl::CancelledError("the run was stopped");
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           absl::ToChronoMilliseconds(plan_.call_timeout));
      AttachRequestId(request_id, context);
      const absl::Time start = absl::Now();
      status = FromGrpcCall(method(&context, request, response), "session");
      recorder_.Record(absl::StrCat("SessionService.", name), absl::Now() - start, status);
      if (!Retryable(status)) break;
      Think(absl::Milliseconds(200) * (1 << (attempt - 1)), stop_);
    }
    if (status.ok()) return status;
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), " (request id ", request_id, ")"));
  }

 private:
  const SessionPlan& plan_;
  CallRecorder& recorder_;
  const std::atomic<bool>* stop_;
  const std::string key_;
  int calls_ = 0;
};

}  // namespace

absl::StatusOr<v1::ListenerResult> RunListenerSession(v1::SessionService::Stub& session,
                                                      listeners::Listener& listener,
                                                      const SessionPlan& plan, int index,
                                                      CallRecorder& recorder,
                                                      const std::atomic<bool>* stop) {
  const absl::Time started = absl::Now();
  const std::string key = absl::StrCat(plan.run_id, "/", index);
  Caller caller(plan, recorder, stop, key);
  v1::ListenerResult result;
  result.set_index(static_cast<uint32_t>(index));
  result.set_taste(listener.taste().name);

  v1::CreateUserRequest create_user;
  create_user.set_display_name(absl::StrCat("ddsim ", listener.taste().name, " #", index));
  create_user.set_request_id(key + "/user");
  v1::User user;
  absl::Status status = caller.Call(
      "CreateUser", [&](auto* c, const auto& r, auto* o) { return session.CreateUser(c, r, o); },
      create_user, &user);
  if (!status.ok()) return status;
  result.set_user_id(user.user_id());

  v1::StartSessionRequest start;
  start.set_user_id(user.user_id());
  *start.mutable_options() = plan.options;
  start.set_request_id(key + "/session");
  v1::Session started_session;
  status = caller.Call(
      "StartSession",
      [&](auto* c, const auto& r, auto* o) { return session.StartSession(c, r, o); }, start,
      &started_session);
  if (!status.ok()) return status;
  result.set_session_id(started_session.session_id());

  uint32_t phase1_total = 0, phase2_total = 0;
  for (;;) {
    v1::NextLoopRequest next;
    next.set_session_id(started_session.session_id());
    next.set_user_id(user.user_id());
    next.set_audio_delivery(v1::AUDIO_DELIVERY_INLINE);
    v1::NextLoopResponse loop;
    status = caller.Call(
        "NextLoop", [&](auto* c, const auto& r, auto* o) { return session.NextLoop(c, r, o); },
        next, &loop);
    if (!status.ok()) return status;
    phase1_total = loop.progress().phase1_total();
    phase2_total = loop.progress().phase2_total();
    auto heard = Hear(loop.audio(), loop.loop());
    if (!heard.ok()) {
      return absl::InternalError(
          absl::StrCat("loop ", loop.loop_id(), " could not be heard: ", heard.status().message()));
    }
    const bool liked = listener.Likes(*heard);
    Think(plan.think_time, stop);

    v1::RateRequest rate;
    rate.set_loop_id(loop.loop_id());
    rate.set_rating(liked ? v1::RATING_LIKE : v1::RATING_DISLIKE);
    rate.set_request_id(absl::StrCat(key, "/rate/", loop.position()));
    rate.set_user_id(user.user_id());
    v1::RateResponse rated;
    status = caller.Call(
        "Rate", [&](auto* c, const auto& r, auto* o) { return session.Rate(c, r, o); }, rate,
        &rated);
    if (!status.ok()) return status;
    recorder.CountRating();
    if (loop.phase() == v1::PHASE_LEARNING) {
      result.set_phase1_rated(result.phase1_rated() + 1);
      result.set_phase1_liked(result.phase1_liked() + liked);
    } else {
      result.set_phase2_rated(result.phase2_rated() + 1);
      result.set_phase2_liked(result.phase2_liked() + liked);
    }
    if (rated.phase() == v1::PHASE_COMPLETE) break;
  }

  v1::GetResultsRequest results_request;
  results_request.set_session_id(started_session.session_id());
  results_request.set_user_id(user.user_id());
  v1::SessionResults results;
  status = caller.Call(
      "GetResults", [&](auto* c, const auto& r, auto* o) { return session.GetResults(c, r, o); },
      results_request, &results);
  if (!status.ok()) return status;
  result.set_theta_init(results.theta_init());
  result.set_theta_final(results.theta_final());
  result.set_delta(results.delta());
  result.set_init_rated(results.init_rated());
  result.set_init_liked(results.init_liked());
  result.set_final_rated(results.final_rated());
  result.set_final_liked(results.final_liked());
  result.set_phase1_like_rate(results.phase1_like_rate());
  result.set_final_critic_version(results.final_critic_version());
  const stats::Interval delta = stats::ShareDifferenceInterval(
      static_cast<int>(results.init_liked()), static_cast<int>(results.init_rated()),
      static_cast<int>(results.final_liked()), static_cast<int>(results.final_rated()));
  result.mutable_delta_interval()->set_estimate(delta.estimate);
  result.mutable_delta_interval()->set_low(delta.low);
  result.mutable_delta_interval()->set_high(delta.high);
  // What the service counted must be exactly what this listener did.
  const double own_phase1_rate =
      result.phase1_rated() ? static_cast<double>(result.phase1_liked()) / result.phase1_rated()
                            : 0;
  result.set_consistent(results.complete() && result.phase1_rated() == phase1_total &&
                        result.phase2_rated() == phase2_total &&
                        results.init_rated() + results.final_rated() == result.phase2_rated() &&
                        results.init_liked() + results.final_liked() == result.phase2_liked() &&
                        std::fabs(results.phase1_like_rate() - own_phase1_rate) < 1e-9);

  if (plan.delete_user) {
    v1::DeleteUserRequest remove;
    remove.set_user_id(user.user_id());
    v1::DeleteUserResponse removed;
    status = caller.Call(
        "DeleteUser", [&](auto* c, const auto& r, auto* o) { return session.DeleteUser(c, r, o); },
        remove, &removed);
    if (!status.ok()) return status;
  }
  result.set_seconds(absl::ToDoubleSeconds(absl::Now() - started));
  return result;
}

}  // namespace dd::sim
