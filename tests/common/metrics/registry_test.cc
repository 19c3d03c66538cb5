#include "common/metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "absl/strings/match.h"

namespace dd::metrics {
namespace {

TEST(RegistryTest, WritesCountersGaugesAndHistogramsInThePrometheusTextFormat) {
  Registry registry;
  auto calls =
      registry.AddCounter("calls_total", "Calls.\nSecond line \\ here.", {"method", "code"});
  ASSERT_TRUE(calls.ok()) << calls.status();
  auto running = registry.AddGauge("running", "Running now.", {});
  ASSERT_TRUE(running.ok());
  auto seconds = registry.AddHistogram("call_seconds", "Durations.", {"method"}, {0.1, 1});
  ASSERT_TRUE(seconds.ok());

  (*calls)->WithLabels({"Render", "OK"}).Increment();
  (*calls)->WithLabels({"Render", "OK"}).Increment(2);
  (*calls)->WithLabels({"say \"hi\"\n", "INTERNAL"}).Increment();
  (*running)->WithLabels({}).Add(5);
  (*running)->WithLabels({}).Add(-2);
  Histogram& render = (*seconds)->WithLabels({"Render"});
  for (double value : {0.05, 0.1, 0.5, 7.0})
    render.Observe(value);

  EXPECT_EQ(registry.Exposition(),
            "# HELP calls_total Calls.\\nSecond line \\\\ here.\n"
            "# TYPE calls_total counter\n"
            "calls_total{method=\"Render\",code=\"OK\"} 3\n"
            "calls_total{method=\"say \\\"hi\\\"\\n\",code=\"INTERNAL\"} 1\n"
            "# HELP running Running now.\n"
            "# TYPE running gauge\n"
            "running 3\n"
            "# HELP call_seconds Durations.\n"
            "# TYPE call_seconds histogram\n"
            "call_seconds_bucket{method=\"Render\",le=\"0.1\"} 2\n"
            "call_seconds_bucket{method=\"Render\",le=\"1\"} 3\n"
            "call_seconds_bucket{method=\"Render\",le=\"+Inf\"} 4\n"
            "call_seconds_sum{method=\"Render\"} 7.65\n"
            "call_seconds_count{method=\"Render\"} 4\n");
}

TEST(RegistryTest, RefusesBadNamesDuplicatesAndBounds) {
  Registry registry;
  ASSERT_TRUE(registry.AddCounter("ok_total", "", {}).ok());
  EXPECT_EQ(registry.AddGauge("ok_total", "", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("1st", "", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("has-dash", "", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("a", "", {"bad:label"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("b", "", {"__reserved"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("c", "", {"le"}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("d", "", {}, {1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(absl::StrContains(registry.Exposition(), "# TYPE d")) << "nothing half-added";
}

TEST(RegistryTest, ASampledMetricIsReadAtEachExposition) {
  Registry registry;
  double value = 1.5;
  ASSERT_TRUE(registry
                  .AddSampled("work_seconds_total", "Work.", Registry::SampledType::kCounter,
                              [&] { return value; })
                  .ok());
  ASSERT_TRUE(registry
                  .AddSampled("unknown_bytes", "Unknown.", Registry::SampledType::kGauge,
                              [] { return std::nan(""); })
                  .ok());
  EXPECT_EQ(registry.Exposition(),
            "# HELP work_seconds_total Work.\n# TYPE work_seconds_total counter\n"
            "work_seconds_total 1.5\n"
            "# HELP unknown_bytes Unknown.\n# TYPE unknown_bytes gauge\nunknown_bytes NaN\n");
  value = 2.25;
  EXPECT_TRUE(absl::StrContains(registry.Exposition(), "\nwork_seconds_total 2.25\n"));
  // Names are checked and shared with the other kinds.
  const auto read = [] { return 0.0; };
  EXPECT_EQ(
      registry.AddSampled("work_seconds_total", "", Registry::SampledType::kGauge, read).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddGauge("unknown_bytes", "", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddSampled("has-dash", "", Registry::SampledType::kGauge, read).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddSampled("nothing", "", Registry::SampledType::kGauge, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RegistryTest, CountsEveryIncrementFromManyThreads) {
  Registry registry;
  auto calls = registry.AddCounter("calls_total", "Calls.", {"thread_parity"});
  ASSERT_TRUE(calls.ok());
  auto seconds = registry.AddHistogram("call_seconds", "Durations.", {}, {0.5});
  ASSERT_TRUE(seconds.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        (*calls)->WithLabels({t % 2 == 0 ? "even" : "odd"}).Increment();
        (*seconds)->WithLabels({}).Observe(1.0);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ((*calls)->WithLabels({"even"}).value(), 40000u);
  EXPECT_EQ((*calls)->WithLabels({"odd"}).value(), 40000u);
  const Histogram::Snapshot read = (*seconds)->WithLabels({}).Read();
  EXPECT_EQ(read.cumulative_counts, (std::vector<uint64_t>{0, 80000}));
  EXPECT_EQ(read.sum, 80000.0);
}

}  // namespace
}  // namespace dd::metrics
