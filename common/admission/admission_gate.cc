#include "common/admission/admission_gate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace dd {

absl::StatusOr<std::unique_ptr<AdmissionGate>> AdmissionGate::Create(AdmissionOptions options) {
  if (options.max_concurrent < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the limit of concurrent calls must be >= 0 (0: none), got ", options.max_concurrent));
  }
  if (options.max_wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("the admission wait must not be negative, got ",
                                                   absl::FormatDuration(options.max_wait)));
  }
  return std::unique_ptr<AdmissionGate>(new AdmissionGate(std::move(options)));
}

absl::StatusOr<AdmissionGate::Ticket> AdmissionGate::Enter(absl::Time deadline) {
  absl::MutexLock lock(&mutex_);
  if (options_.max_concurrent == 0) {
    ++in_flight_;
    return Ticket(this);
  }
  auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
    return in_flight_ < options_.max_concurrent;
  };
  const absl::Time start = absl::Now();
  const absl::Time give_up = std::min(deadline, start + options_.max_wait);
  if (!has_room() && !mutex_.AwaitWithDeadline(absl::Condition(&has_room), give_up)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        options_.name, " is at its limit of ", options_.max_concurrent,
        options_.max_concurrent == 1 ? " call" : " calls", " at once and none finished within ",
        absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))),
        "; retry later"));
  }
  ++in_flight_;
  return Ticket(this);
}

int AdmissionGate::in_flight() const {
  absl::MutexLock lock(&mutex_);
  return in_flight_;
}

void AdmissionGate::Leave() {
  absl::MutexLock lock(&mutex_);
  --in_flight_;
}

}  // namespace dd
