// Latency and outcome of every RPC ddsim makes, per method, shared by all listener threads.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace deepdrummer::v1 {
class SimulationReport;
}

namespace dd::sim {

class CallRecorder {
 public:
  void Record(const std::string& method, absl::Duration latency, const absl::Status& status);
  void CountRating();
  uint64_t ratings() const;
  // Fills calls (sorted by method), errors_by_code and ratings.
  void FillReport(deepdrummer::v1::SimulationReport& report) const;

 private:
  struct MethodCalls {
    std::vector<double> latencies_ms;
    uint64_t errors = 0;
  };
  mutable absl::Mutex mutex_;
  std::map<std::string, MethodCalls> methods_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, uint64_t> errors_by_code_ ABSL_GUARDED_BY(mutex_);
  uint64_t ratings_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace dd::sim
