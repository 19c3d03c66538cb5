// One simulated listener through one whole session, over the public SessionService API only, as a
// person's client would: create a user, start a session, then NextLoop -> listen -> Rate until the
// protocol is complete, then read the results.
#pragma once

#include <atomic>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/listeners/listener.h"
#include "deepdrummer/v1/session.grpc.pb.h"
#include "deepdrummer/v1/simulation.pb.h"
#include "services/ddsim/call_recorder.h"

namespace dd::sim {

struct SessionPlan {
  deepdrummer::v1::SessionOptions options;           // Sent with StartSession as is.
  absl::Duration think_time = absl::ZeroDuration();  // Listening time before each Rate.
  absl::Duration call_timeout = absl::Minutes(10);   // Deadline of every call.
  int max_attempts = 5;  // Per call, on UNAVAILABLE, DEADLINE_EXCEEDED or ABORTED.
  // Unique per ddsim run; prefixes every idempotency key so that reruns do not collide.
  std::string run_id;
  bool delete_user = false;  // DeleteUser once the results are read.
};

// Runs listener number `index`. A failure of the session is returned as an error; `stop` (may be
// null) ends the session early with CANCELLED.
absl::StatusOr<deepdrummer::v1::ListenerResult> RunListenerSession(
    deepdrummer::v1::SessionService::Stub& session, listeners::Listener& listener,
    const SessionPlan& plan, int index, CallRecorder& recorder, const std::atomic<bool>* stop);

}  // namespace dd::sim
