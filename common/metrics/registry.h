// Metrics a process keeps about itself (counters, gauges, histograms, each family with labels),
// written out in Prometheus' text format for a scraper. Knows nothing of gRPC or HTTP: servers
// fill it (services/shared/grpc_metrics) and serve Exposition() (services/shared/metrics_endpoint).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace dd::metrics {

class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Add(int64_t delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  // `upper_bounds`: increasing bucket bounds; +Inf is implied.
  explicit Histogram(const std::vector<double>& upper_bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative_counts;  // One per bound, then +Inf (= count).
    double sum = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts_;  // Per bucket, +Inf last.
  std::atomic<double> sum_{0};
};

class Registry;

// What the registry writes out, whatever the kind of metric.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  virtual const std::string& name() const = 0;
  virtual void Write(std::string& out) const = 0;
};

// One metric name with its help text and label names; one child metric per label values.
template <typename Metric>
class Family final : public FamilyBase {
 public:
  // The child for `label_values` (as many as the family's label names; missing ones are empty),
  // created on first use. The reference stays valid as long as the registry.
  Metric& WithLabels(const std::vector<std::string>& label_values);
  const std::string& name() const override { return name_; }
  void Write(std::string& out) const override;

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> upper_bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        upper_bounds_(std::move(upper_bounds)) {}

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> upper_bounds_;  // Histograms only.
  mutable absl::Mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_ ABSL_GUARDED_BY(mutex_);
};

class Registry {
 public:
  // Names and label names must be valid Prometheus names ([a-zA-Z_:][a-zA-Z0-9_:]*, labels
  // without ':'), unique in the registry; INVALID_ARGUMENT otherwise. Families live as long as
  // the registry.
  absl::StatusOr<Family<Counter>*> AddCounter(std::string name, std::string help,
                                              std::vector<std::string> label_names);
  absl::StatusOr<Family<Gauge>*> AddGauge(std::string name, std::string help,
                                          std::vector<std::string> label_names);
  // `upper_bounds`: increasing, finite.
  absl::StatusOr<Family<Histogram>*> AddHistogram(std::string name, std::string help,
                                                  std::vector<std::string> label_names,
                                                  std::vector<double> upper_bounds);

  // A metric without labels whose value `read` returns each time the registry is written out:
  // for counts kept elsewhere, such as the kernel's of this process's CPU time and memory (NaN
  // when it cannot say). `read` runs under the registry's lock and must not call the registry;
  // a counter's values must never decrease.
  enum class SampledType { kCounter, kGauge };
  absl::Status AddSampled(std::string name, std::string help, SampledType type,
                          std::function<double()> read);

  // Every family in Prometheus' text exposition format (version 0.0.4), in the order added.
  std::string Exposition() const;

 private:
  // Keeps `family` unless its name is not one or is taken (INVALID_ARGUMENT).
  absl::Status Keep(std::unique_ptr<FamilyBase> family);
  template <typename Metric>
  absl::StatusOr<Family<Metric>*> Add(std::string name, std::string help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> upper_bounds);

  mutable absl::Mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> names_ ABSL_GUARDED_BY(mutex_);
};

// `given` when set; otherwise a fresh registry, kept in `owned`: for libraries that count their
// work whether or not their caller serves the counts.
Registry& GivenOrOwn(Registry* given, std::unique_ptr<Registry>& owned);

}  // namespace dd::metrics
