// A structured log line for every call a gRPC server ends (event rpc.finished: method, status
// code, its message, duration, peer and request id), and the request id itself: taken from the
// caller's metadata, or made when it sent none, then visible to the handler (RequestIdOf) and
// returned to the caller in the response's trailing metadata.
//
// Levels follow who has to act: calls that succeed are debug (a generator's Score calls would
// otherwise flood the log), the caller's mistakes (INVALID_ARGUMENT, NOT_FOUND, ...) info, load
// and dependency trouble (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED) warning,
// and bugs or damage (INTERNAL, UNKNOWN, DATA_LOSS) error.
//
// Lines of failed calls are throttled per method and code (CallLogThrottle): an overloaded
// server refusing thousands of calls a second should not spend its time writing about them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/support/server_interceptor.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log/log.h"

namespace dd {

// At most `lines_per_second` lines per key in each one-second window; the first line written
// after a window that dropped some says how many (its `suppressed` count).
class CallLogThrottle {
 public:
  explicit CallLogThrottle(int lines_per_second) : limit_(lines_per_second) {}

  // Whether a line for `key` may be written at `now`. If so, `suppressed` is the number of that
  // key's lines dropped since the last one written.
  bool Admit(const std::string& key, absl::Time now, int64_t& suppressed);

 private:
  struct Window {
    absl::Time start = absl::InfinitePast();
    int written = 0;
    int64_t dropped = 0;
  };
  const int limit_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Window> windows_ ABSL_GUARDED_BY(mutex_);
};

// The level rpc.finished is logged at for a call that ended with `code`.
log::Level CallLogLevel(grpc::StatusCode code);

// For ServerBuilder::experimental().SetInterceptorCreators. Failed calls' lines are throttled to
// `lines_per_second` per method and code; lines of calls that succeed (debug) are not.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallLogInterceptorFactory(
    int lines_per_second = 20);

}  // namespace dd
