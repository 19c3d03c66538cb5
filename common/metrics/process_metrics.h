// The process metrics every Prometheus client library exports by default (CPU seconds, resident
// and virtual memory, open and allowed file descriptors, start time), under the same names, so
// that dashboards and alerts written for them work on these servers too. Read from Linux's /proc
// and getrusage at each scrape; a value the system cannot give is NaN.
#pragma once

#include "absl/status/status.h"
#include "common/metrics/registry.h"

namespace dd::metrics {

// Adds process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds and process_start_time_seconds to `registry`.
absl::Status AddProcessMetrics(Registry& registry);

}  // namespace dd::metrics
