// Start-up checks of flag values: a server must refuse to start with a setting that would fail
// every call (a negative timeout, an empty target, a batch limit of 0) instead of starting and
// answering each request with an error that names no flag.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace dd {

// INVALID_ARGUMENT "--<flag> must be in [min, max], got <value>" when outside.
absl::Status CheckIntFlag(const std::string& flag, int64_t value, int64_t min, int64_t max);
// INVALID_ARGUMENT unless `value` > 0 (infinite passes).
absl::Status CheckPositiveDurationFlag(const std::string& flag, absl::Duration value);
// INVALID_ARGUMENT unless `value` >= 0.
absl::Status CheckNonNegativeDurationFlag(const std::string& flag, absl::Duration value);
// INVALID_ARGUMENT when the gRPC target of another service is empty.
absl::Status CheckTargetFlag(const std::string& flag, const std::string& target);

// The first error of `checks`, or OK: lets a main list its checks in one statement.
absl::Status FirstError(std::initializer_list<absl::Status> checks);

}  // namespace dd
