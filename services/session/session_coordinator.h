// Runs the two-phase protocol against the other services: trains the session's critic on its
// ratings and has the generator draw each next loop, which it stores as prepared. Work for a
// session is done once per replica at a time (callers wait for a preparation in flight), and the
// database's unique (session, position) makes concurrent replicas agree on one loop.
//
// Preparation starts in the background as soon as a rating is stored (and, in Phase II, as soon
// as a loop is presented, since Phase II never trains), so NextLoop usually finds its loop ready.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/session/protocol.h"
#include "common/storage/session_repository.h"
#include "deepdrummer/v1/critic.grpc.pb.h"
#include "deepdrummer/v1/generator.grpc.pb.h"
#include "deepdrummer/v1/session.pb.h"

namespace dd {

struct SessionCoordinatorOptions {
  // Per Train call: a catch-up after a crash may train on many ratings at ~3 s each on a CPU.
  absl::Duration critic_timeout = absl::Minutes(10);
  absl::Duration generator_timeout = absl::Minutes(2);  // Per Sample call.
  int background_threads = 4;  // Sessions prepared concurrently in the background.
};

class SessionCoordinator {
 public:
  // Dependencies are not owned and must outlive the coordinator.
  SessionCoordinator(storage::SessionRepository& repository,
                     deepdrummer::v1::CriticService::StubInterface& critic,
                     deepdrummer::v1::GeneratorService::StubInterface& generator,
                     SessionCoordinatorOptions options);
  ~SessionCoordinator();  // Finishes the preparation in progress; drops queued ones.

  // `request_id` is the id of the client's request that asks for the work (see
  // services/shared/request_id.h); the calls to the critic and the generator carry it.

  // Makes sure the session's next loop exists (trains, samples, stores). Joins a preparation of
  // the same session already running in this process.
  absl::Status Prepare(const std::string& session_id, const std::string& request_id);
  // Queues a preparation unless one of the session is queued already (which keeps its own id).
  void PrepareInBackground(const std::string& session_id, const std::string& request_id);
  // Asks the generator whether it can draw loops with these (complete) session options: their
  // priors name samples its library holds, it has a kick for four-on-the-floor, and they allow as
  // many distinct loops as the session shows. A session that fails this would stall at a
  // NextLoop, so it is refused at the start (INVALID_ARGUMENT).
  absl::Status CheckSampling(const deepdrummer::v1::SessionOptions& options,
                             const std::string& request_id);
  // The loop to present now: the first unrated one, prepared first if needed. nullopt when the
  // session is complete.
  absl::StatusOr<std::optional<storage::LoopRecord>> Present(const std::string& session_id,
                                                             const std::string& request_id);

 private:
  struct Flight {
    absl::Notification done;
    absl::Status status;
  };
  struct QueuedPreparation {
    std::string session_id;
    std::string request_id;
  };
  absl::Status DoPrepare(const std::string& session_id, const std::string& request_id);
  // Trains the critic on the first `ratings` Phase I ratings, in order (idempotent); returns its
  // version.
  absl::StatusOr<uint64_t> TrainOnRatings(const storage::SessionRecord& session,
                                          const std::vector<storage::LoopRecord>& loops,
                                          int ratings, const std::string& request_id);
  void BackgroundLoop();
  // Whether a session whose preparation failed with `failure` has been deleted; a NOT_FOUND
  // failure waits up to `grace` for the deletion to finish.
  bool DeletedMeanwhile(const std::string& session_id, const absl::Status& failure,
                        absl::Duration grace);

  storage::SessionRepository& repository_;
  deepdrummer::v1::CriticService::StubInterface& critic_;
  deepdrummer::v1::GeneratorService::StubInterface& generator_;
  const SessionCoordinatorOptions options_;

  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> in_flight_ ABSL_GUARDED_BY(mutex_);
  std::deque<QueuedPreparation> queue_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<std::string> queued_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace dd
