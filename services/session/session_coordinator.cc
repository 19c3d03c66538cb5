#include "services/session/session_coordinator.h"

#include <grpcpp/client_context.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/session/protocol.h"
#include "deepdrummer/v1/session.pb.h"
#include "services/session/session_shape.h"
#include "services/shared/request_id.h"
#include "services/shared/status_mapping.h"

namespace dd {
namespace v1 = deepdrummer::v1;
namespace {

// What the generator is asked for a session's loops in `mode`, before the critic and the job.
v1::SampleRequest SamplingOf(const v1::SessionOptions& options, v1::SamplingMode mode) {
  v1::SampleRequest request;
  request.set_mode(mode);
  *request.mutable_sampler() = options.sampler();
  *request.mutable_priors() = options.priors();
  return request;
}

// The status of a call made with `timeout` (the flag `flag`), which started at `start`. gRPC's
// "Deadline Exceeded" does not say whose deadline ran out, and a client reading it would blame its
// own; a DEADLINE_EXCEEDED the callee answered in time (a statement timeout of its own) is left as
// it is.
absl::Status WithTimeoutNamed(absl::Status status, absl::Time start, absl::Duration timeout,
                              const char* flag) {
  if (status.code() != absl::StatusCode::kDeadlineExceeded || absl::Now() < start + timeout) {
    return status;
  }
  return absl::DeadlineExceededError(absl::StrCat(status.message(), " (no reply within ",
                                                  absl::FormatDuration(timeout),
                                                  ", dd-session's --", flag, ")"));
}

// The most examples one Train call takes (TrainRequest.examples); a session sends its ratings
// in as many calls as that needs.
constexpr size_t kTrainExamplesPerCall = 256;

}  // namespace

SessionCoordinator::SessionCoordinator(storage::SessionRepository& repository,
                                       v1::CriticService::StubInterface& critic,
                                       v1::GeneratorService::StubInterface& generator,
                                       SessionCoordinatorOptions options)
    : repository_(repository), critic_(critic), generator_(generator), options_(options) {
  for (int i = 0; i < options_.background_threads; ++i) {
    workers_.emplace_back([this] { BackgroundLoop(); });
  }
}

SessionCoordinator::~SessionCoordinator() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    queue_.clear();
  }
  for (std::thread& worker : workers_)
    worker.join();
}

void SessionCoordinator::PrepareInBackground(const std::string& session_id,
                                             const std::string& request_id) {
  absl::MutexLock lock(&mutex_);
  if (stopping_ || !queued_.insert(session_id).second) return;
  queue_.push_back({session_id, request_id});
}

void SessionCoordinator::BackgroundLoop() {
  while (true) {
    QueuedPreparation work;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](SessionCoordinator* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (stopping_) return;
      work = std::move(queue_.front());
      queue_.pop_front();
      queued_.erase(work.session_id);
    }
    // A failure here is not lost: NextLoop prepares again and reports the error to the client.
    absl::Status status = Prepare(work.session_id, work.request_id);
    if (status.ok()) continue;
    // A session deleted (DeleteUser) while its loop was being prepared fails that preparation
    // as intended; a warning there would be noise for whoever is paged by warnings.
    if (DeletedMeanwhile(work.session_id, status, absl::Seconds(5))) {
      log::Info("session.prepare_abandoned", {{"session_id", work.session_id},
                                              {"request_id", work.request_id},
                                              {"reason", "the session was deleted"}});
      continue;
    }
    log::Warning("session.prepare_failed", {{"session_id", work.session_id},
                                            {"request_id", work.request_id},
                                            {"error", status.ToString()}});
  }
}

bool SessionCoordinator::DeletedMeanwhile(const std::string& session_id,
                                          const absl::Status& failure, absl::Duration grace) {
  // DeleteUser removes the user's critics before the user's rows (so that a retry can finish a
  // deletion cut short), so a preparation can fail for want of its critic while the session
  // still exists for a moment. A NOT_FOUND failure therefore waits a little for the session to go.
  const absl::Time give_up =
      absl::Now() + (failure.code() == absl::StatusCode::kNotFound ? grace : absl::ZeroDuration());
  while (true) {
    if (repository_.GetSession(session_id).status().code() == absl::StatusCode::kNotFound) {
      return true;
    }
    if (absl::Now() >= give_up) return false;
    absl::MutexLock lock(&mutex_);
    if (mutex_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(100))) {
      return false;
    }
  }
}

absl::Status SessionCoordinator::Prepare(const std::string& session_id,
                                         const std::string& request_id) {
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    absl::MutexLock lock(&mutex_);
    auto it = in_flight_.find(session_id);
    if (it == in_flight_.end()) {
      flight = std::make_shared<Flight>();
      in_flight_.emplace(session_id, flight);
      leader = true;
    } else {
      flight = it->second;
    }
  }
  if (!leader) {
    flight->done.WaitForNotification();
    // A failed preparation is everyone's answer: repeating it at once would most likely fail the
    // same way (a critic or generator down, a draw that outlasts --generator_timeout) after as
    // long again, while the caller that waited may be gone. Callers retry as clients do.
    if (!flight->status.ok()) return flight->status;
    // What the leader prepared may not be all we need (e.g. it ran before our rating landed).
    return DoPrepare(session_id, request_id);
  }
  flight->status = DoPrepare(session_id, request_id);
  {
    absl::MutexLock lock(&mutex_);
    in_flight_.erase(session_id);
  }
  flight->done.Notify();
  return flight->status;
}

absl::StatusOr<std::optional<storage::LoopRecord>> SessionCoordinator::Present(
    const std::string& session_id, const std::string& request_id) {
  auto loop = repository_.PresentNext(session_id);
  if (!loop.ok() || loop->has_value()) return loop;
  if (absl::Status status = Prepare(session_id, request_id); !status.ok()) {
    // The caller waiting for a session deleted meanwhile is told that, not which of its parts
    // (its critic, say) went first; the wait is short, as the caller is waiting.
    if (DeletedMeanwhile(session_id, status, absl::Seconds(1))) {
      return absl::NotFoundError(absl::StrCat("session ", session_id, " does not exist"));
    }
    return status;
  }
  return repository_.PresentNext(session_id);
}

absl::StatusOr<uint64_t> SessionCoordinator::TrainOnRatings(
    const storage::SessionRecord& session, const std::vector<storage::LoopRecord>& loops,
    int ratings, const std::string& request_id) {
  std::vector<v1::Example> examples;
  for (const storage::LoopRecord& loop : loops) {
    if (loop.phase != 1 || !loop.rating.has_value()) continue;
    if (static_cast<int>(examples.size()) == ratings) break;
    v1::Example& example = examples.emplace_back();
    example.set_example_id(loop.loop_id);
    example.set_rating(loop.rating->liked ? v1::RATING_LIKE : v1::RATING_DISLIKE);
    if (!example.mutable_loop()->ParseFromString(loop.pattern)) {
      return absl::DataLossError(
          absl::StrCat("stored pattern of loop ", loop.loop_id, " is corrupt"));
    }
  }
  uint64_t version = 0;
  // In rating order, a call at a time: the critic takes the examples it does not know yet from
  // each call, so the calls train as one would.
  for (size_t first = 0; first < examples.size(); first += kTrainExamplesPerCall) {
    v1::TrainRequest request;
    request.set_critic_id(session.critic_id);
    const size_t end = std::min(examples.size(), first + kTrainExamplesPerCall);
    for (size_t i = first; i < end; ++i)
      *request.add_examples() = std::move(examples[i]);
    grpc::ClientContext context;
    AttachRequestId(request_id, context);
    const absl::Time start = absl::Now();
    context.set_deadline(absl::ToChronoTime(start + options_.critic_timeout));
    v1::TrainResponse response;
    if (absl::Status s =
            FromGrpcCall(critic_.Train(&context, request, &response), "critic service");
        !s.ok()) {
      return WithTimeoutNamed(s, start, options_.critic_timeout, "critic_timeout");
    }
    version = response.version();
  }
  return version;
}

absl::Status SessionCoordinator::CheckSampling(const v1::SessionOptions& options,
                                               const std::string& request_id) {
  // Both modes' sampler options were checked in this process; what only the generator knows is
  // its sample library, the same for either mode.
  v1::SampleRequest request = SamplingOf(options, v1::SAMPLING_MODE_METROPOLIS);
  request.set_validate_only(true);
  grpc::ClientContext context;
  const absl::Time start = absl::Now();
  context.set_deadline(absl::ToChronoTime(start + options_.generator_timeout));
  AttachRequestId(request_id, context);
  v1::SampleResponse response;
  const absl::Status status = WithTimeoutNamed(
      FromGrpcCall(generator_.Sample(&context, request, &response), "generator service"), start,
      options_.generator_timeout, "generator_timeout");
  switch (status.code()) {
    case absl::StatusCode::kOk:
      break;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
      return absl::InvalidArgumentError(absl::StrCat(
          "options.priors do not fit the generator's sample library: ", status.message()));
    default:
      return status;
  }
  // Every loop of a session differs from the others (each avoids those before it), so priors
  // that allow fewer would stall it at the first loop that cannot be new.
  const uint64_t needed =
      uint64_t{options.phase1_loops()} + 2 * uint64_t{options.phase2_loops_per_critic()};
  if (response.distinct_loops() < needed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.priors allow only ", response.distinct_loops(),
        " distinct loops over the generator's sample library, and the session needs ", needed,
        " (phase1_loops + 2 x phase2_loops_per_critic); allow more steps, tracks or samples"));
  }
  return absl::OkStatus();
}

absl::Status SessionCoordinator::DoPrepare(const std::string& session_id,
                                           const std::string& request_id) {
  auto session = repository_.GetSession(session_id);
  if (!session.ok()) return session.status();
  auto loops = repository_.Loops(session_id);
  if (!loops.ok()) return loops.status();
  const session::ProtocolShape shape = ShapeOf(*session);
  int unrated = 0, phase1_rated = 0;
  for (const storage::LoopRecord& loop : *loops) {
    if (!loop.rating.has_value()) ++unrated;
    if (loop.phase == 1 && loop.rating.has_value()) ++phase1_rated;
  }
  const int position = static_cast<int>(loops->size()) + 1;
  const std::optional<session::LoopPlan> plan = session::PlanLoop(shape, position);
  if (!plan.has_value()) {  // Every loop of the session exists.
    // Without Phase II (phase2_per_critic 0) nothing draws from the final critic, so it is
    // trained here, on the last rating, as Phase II's first final loop would have had it.
    if (shape.phase2_per_critic == 0 && phase1_rated == shape.phase1_total &&
        !session->final_critic_version.has_value()) {
      auto trained = TrainOnRatings(*session, *loops, phase1_rated, request_id);
      if (!trained.ok()) return trained.status();
      return repository_.SetFinalCriticVersion(session_id, *trained);
    }
    return absl::OkStatus();
  }
  // Phase I: the next loop needs every rating its critic covers, i.e. all but `lag` of the loops
  // before it rated. Phase II: one loop may wait behind the one being listened to, since nothing
  // it depends on can change any more; a loop of the initial critic (version 0, avoiding every
  // Phase I loop, all of which exist) does not even need the last Phase I rating, so it can be
  // drawn while loop 80 is heard, and is the same loop whenever it is drawn.
  const int lag = shape.phase1_critic_lag;
  if (plan->phase == 1 && unrated > lag) return absl::OkStatus();
  const bool needs_final_critic = plan->source == session::LoopSource::kFinal;
  if (plan->phase == 2 &&
      (unrated > 1 || (needs_final_critic && phase1_rated < shape.phase1_total))) {
    if (lag > 0 && unrated <= 1 && phase1_rated < shape.phase1_total) {
      // The last Phase I loop is out and came from a lagging critic: train ahead on every rating
      // so far, so that the final critic waits for one round only, the last rating's.
      if (auto trained = TrainOnRatings(*session, *loops, phase1_rated, request_id);
          !trained.ok()) {
        return trained.status();
      }
    }
    return absl::OkStatus();
  }

  const absl::Time start = absl::Now();
  std::optional<uint64_t> version = plan->critic_version;
  if (plan->phase == 1 ||
      (plan->source == session::LoopSource::kFinal && !session->final_critic_version.has_value())) {
    const int ratings = plan->phase == 1 ? static_cast<int>(*plan->critic_version) : phase1_rated;
    auto trained = TrainOnRatings(*session, *loops, ratings, request_id);
    if (!trained.ok()) return trained.status();
    if (plan->phase == 1 && *trained != *plan->critic_version) {
      return absl::InternalError(absl::StrCat("critic ", session->critic_id, " is at version ",
                                              *trained, " after ", phase1_rated, " ratings"));
    }
    if (phase1_rated == shape.phase1_total) {
      if (absl::Status s = repository_.SetFinalCriticVersion(session_id, *trained); !s.ok())
        return s;
      session->final_critic_version = *trained;
    }
  }
  if (plan->source == session::LoopSource::kFinal) version = session->final_critic_version;

  v1::SessionOptions options;
  if (!options.ParseFromString(session->options)) {
    return absl::DataLossError(
        absl::StrCat("stored options of session ", session_id, " are corrupt"));
  }
  v1::SampleRequest request = SamplingOf(
      options, plan->phase == 1 ? v1::SAMPLING_MODE_METROPOLIS : v1::SAMPLING_MODE_THRESHOLD);
  request.set_critic_id(session->critic_id);
  request.set_critic_version(*version);
  request.set_count(1);
  request.set_seed(plan->sampling_seed);
  for (const storage::LoopRecord& loop : *loops)
    request.add_avoid_fingerprints(loop.fingerprint);
  grpc::ClientContext context;
  const absl::Time call_start = absl::Now();
  context.set_deadline(absl::ToChronoTime(call_start + options_.generator_timeout));
  AttachRequestId(request_id, context);
  v1::SampleResponse response;
  if (absl::Status s =
          FromGrpcCall(generator_.Sample(&context, request, &response), "generator service");
      !s.ok()) {
    return WithTimeoutNamed(s, call_start, options_.generator_timeout, "generator_timeout");
  }
  if (response.loops_size() != 1) return absl::InternalError("generator returned no loop");
  const v1::SampledLoop& sampled = response.loops(0);
  storage::NewLoop loop;
  loop.position = position;
  loop.phase = plan->phase;
  loop.source = std::string(session::SourceName(plan->source));
  loop.pattern = sampled.loop().SerializeAsString();
  loop.fingerprint = sampled.fingerprint();
  loop.critic_version = sampled.critic_version();
  loop.score = sampled.score();
  loop.steps_taken = static_cast<int>(sampled.steps_taken());
  loop.capped = sampled.capped();
  auto inserted = repository_.InsertLoop(session_id, loop);
  if (!inserted.ok()) return inserted.status();
  log::Info("session.loop_prepared",
            {{"session_id", session_id},
             {"position", position},
             {"source", loop.source},
             {"critic_version", static_cast<unsigned long long>(loop.critic_version)},
             {"score", loop.score},
             {"inserted", *inserted},
             {"ms", absl::ToDoubleMilliseconds(absl::Now() - start)},
             {"request_id", request_id}});
  return absl::OkStatus();
}

}  // namespace dd
