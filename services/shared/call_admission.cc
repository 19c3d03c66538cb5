#include "services/shared/call_admission.h"

#include <chrono>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

ABSL_FLAG(int, max_concurrent_calls, 64,
          "Calls of this service that run at once (health checks and reflection not counted); "
          "more wait up to --admission_wait for one to finish, then get RESOURCE_EXHAUSTED. "
          "Bounds memory and threads under a burst. 0: no limit.");
ABSL_FLAG(absl::Duration, admission_wait, absl::Seconds(5),
          "How long a call beyond --max_concurrent_calls waits for a slot (less when its "
          "deadline is sooner) before RESOURCE_EXHAUSTED. 0 refuses at once.");

namespace dd {

absl::StatusOr<std::unique_ptr<AdmissionGate>> AdmissionGateFromFlags(std::string name) {
  AdmissionOptions options;
  options.name = std::move(name);
  options.max_concurrent = absl::GetFlag(FLAGS_max_concurrent_calls);
  options.max_wait = absl::GetFlag(FLAGS_admission_wait);
  auto gate = AdmissionGate::Create(options);
  if (!gate.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_concurrent_calls/--admission_wait: ", gate.status().message()));
  }
  return gate;
}

absl::Time CallDeadline(const grpc::ServerContext& context) {
  // A call without a deadline reports the largest time point, beyond what absl::Time converts.
  const auto deadline = context.deadline();
  return deadline == std::chrono::system_clock::time_point::max() ? absl::InfiniteFuture()
                                                                  : absl::FromChrono(deadline);
}

absl::StatusOr<AdmissionGate::Ticket> Admit(AdmissionGate* gate,
                                            const grpc::ServerContext& context) {
  if (gate == nullptr) return AdmissionGate::Ticket();
  return gate->Enter(CallDeadline(context));
}

}  // namespace dd
