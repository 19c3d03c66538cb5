#include "services/shared/flag_checks.h"

#include "absl/strings/str_cat.h"

namespace dd {

absl::Status CheckIntFlag(const std::string& flag, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must be in [", min, ", ", max, "], got ", value));
}

absl::Status CheckPositiveDurationFlag(const std::string& flag, absl::Duration value) {
  if (value > absl::ZeroDuration()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must be positive, got ", absl::FormatDuration(value)));
}

absl::Status CheckNonNegativeDurationFlag(const std::string& flag, absl::Duration value) {
  if (value >= absl::ZeroDuration()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must not be negative, got ", absl::FormatDuration(value)));
}

absl::Status CheckTargetFlag(const std::string& flag, const std::string& target) {
  if (!target.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, " must name the service: host:port, or dns:///name:port for every replica"));
}

absl::Status FirstError(std::initializer_list<absl::Status> checks) {
  for (const absl::Status& status : checks) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace dd
