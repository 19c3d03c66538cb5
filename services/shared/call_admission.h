// Admission for the compute services (dd-render, dd-critic, dd-generator): the gate's flags, and
// entering it with a call's own deadline. Health checks and reflection never pass a gate, so an
// overloaded server still answers its probes.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/admission/admission_gate.h"

namespace dd {

// --max_concurrent_calls and --admission_wait; `name` is the server's, for error messages.
// INVALID_ARGUMENT naming the flag when a value is out of range.
absl::StatusOr<std::unique_ptr<AdmissionGate>> AdmissionGateFromFlags(std::string name);

// The call's deadline; InfiniteFuture() when the caller set none.
absl::Time CallDeadline(const grpc::ServerContext& context);

// Enters `gate` (null: no limit) for the call of `context`, waiting no longer than the call's
// deadline allows.
absl::StatusOr<AdmissionGate::Ticket> Admit(AdmissionGate* gate,
                                            const grpc::ServerContext& context);

}  // namespace dd
