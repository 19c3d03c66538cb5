// gRPC takes its timing settings (keepalive, ping intervals) as int milliseconds in channel
// arguments: a duration in range, at least 1 ms, at most what an int holds.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/time/time.h"

namespace dd {

inline int ChannelArgMilliseconds(absl::Duration duration) {
  return static_cast<int>(
      std::clamp<int64_t>(absl::ToInt64Milliseconds(duration), 1, std::numeric_limits<int>::max()));
}

}  // namespace dd
