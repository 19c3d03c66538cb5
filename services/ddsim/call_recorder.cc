#include "services/ddsim/call_recorder.h"

#include <algorithm>

#include "common/stats/statistics.h"
#include "deepdrummer/v1/simulation.pb.h"

namespace dd::sim {

void CallRecorder::Record(const std::string& method, absl::Duration latency,
                          const absl::Status& status) {
  absl::MutexLock lock(&mutex_);
  MethodCalls& calls = methods_[method];
  calls.latencies_ms.push_back(absl::ToDoubleMilliseconds(latency));
  if (!status.ok()) {
    ++calls.errors;
    ++errors_by_code_[absl::StatusCodeToString(status.code())];
  }
}

void CallRecorder::CountRating() {
  absl::MutexLock lock(&mutex_);
  ++ratings_;
}

uint64_t CallRecorder::ratings() const {
  absl::MutexLock lock(&mutex_);
  return ratings_;
}

void CallRecorder::FillReport(deepdrummer::v1::SimulationReport& report) const {
  absl::MutexLock lock(&mutex_);
  for (const auto& [method, calls] : methods_) {
    auto* out = report.add_calls();
    out->set_method(method);
    out->set_calls(calls.latencies_ms.size());
    out->set_errors(calls.errors);
    out->set_p50_ms(stats::Percentile(calls.latencies_ms, 0.50));
    out->set_p99_ms(stats::Percentile(calls.latencies_ms, 0.99));
    out->set_max_ms(stats::Percentile(calls.latencies_ms, 1.0));
  }
  for (const auto& [code, count] : errors_by_code_)
    (*report.mutable_errors_by_code())[code] = count;
  report.set_ratings(ratings_);
}

}  // namespace dd::sim
