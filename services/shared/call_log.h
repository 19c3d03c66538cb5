// A structured log line for every call a gRPC server ends (event rpc.finished: method, status
// code, its message, duration, peer and request id), and the request id itself: taken from the
// caller's metadata, or made when it sent none, then visible to the handler (RequestIdOf) and
// returned to the caller in the response's trailing metadata.
//
// Levels follow who has to act: calls that succeed are debug (a generator's Score calls would
// otherwise flood the log), the caller's mistakes (INVALID_ARGUMENT, NOT_FOUND, ...) info, load
// and dependency trouble (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED) warning,
// and bugs or damage (INTERNAL, UNKNOWN, DATA_LOSS) error.
#pragma once

#include <memory>

#include <grpcpp/support/server_interceptor.h>

#include "common/log/log.h"

namespace dd {

// The level rpc.finished is logged at for a call that ended with `code`.
log::Level CallLogLevel(grpc::StatusCode code);

// For ServerBuilder::experimental().SetInterceptorCreators.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallLogInterceptorFactory();

}  // namespace dd
