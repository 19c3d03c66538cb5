// The one place where internal absl::Status values become gRPC statuses.
#pragma once

#include "absl/strings/string_view.h"

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace dd {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);
// A failed call to another service, its message prefixed with that service's name; OK stays OK.
absl::Status FromGrpcCall(const grpc::Status& status, absl::string_view service);

// The HTTP status an HTTP gateway answers for a gRPC code, as google/rpc/code.proto maps them:
// INVALID_ARGUMENT, FAILED_PRECONDITION and OUT_OF_RANGE 400, NOT_FOUND 404, ALREADY_EXISTS and
// ABORTED 409, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, and so on.
int HttpStatusFor(grpc::StatusCode code);

}  // namespace dd
