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

}  // namespace dd
