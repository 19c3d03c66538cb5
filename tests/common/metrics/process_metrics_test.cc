#include "common/metrics/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/metrics/registry.h"

namespace dd::metrics {
namespace {

// Every unlabelled sample of the exposition, by name.
std::map<std::string, double> Samples(const Registry& registry) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(registry.Exposition(), '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    const std::vector<std::string> parts = absl::StrSplit(line, ' ');
    double value = 0;
    EXPECT_EQ(parts.size(), 2u) << line;
    EXPECT_TRUE(parts.size() == 2 && absl::SimpleAtod(parts[1], &value)) << line;
    samples[parts[0]] = value;
  }
  return samples;
}

double CpuSecondsNow() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

TEST(ProcessMetricsTest, ReportWhatTheKernelKeepsAboutThisProcess) {
  Registry registry;
  ASSERT_TRUE(AddProcessMetrics(registry).ok());
  EXPECT_EQ(AddProcessMetrics(registry).code(), absl::StatusCode::kInvalidArgument)
      << "the names are taken";
  const std::map<std::string, double> before = Samples(registry);
  ASSERT_EQ(before.size(), 6u);

  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(before.at("process_max_fds"), static_cast<double>(limit.rlim_cur));
  // This test process started moments ago (the tests before it ran in it too).
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(before.at("process_start_time_seconds"), now + 1);
  EXPECT_GT(before.at("process_start_time_seconds"), now - 600);
  EXPECT_GT(before.at("process_virtual_memory_bytes"), before.at("process_resident_memory_bytes"));

  // Two more open files, 64 MB more touched memory and some CPU time show up in the next scrape.
  const int first = open("/dev/null", O_RDONLY);
  const int second = open("/dev/null", O_RDONLY);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  constexpr size_t kTouched = size_t{64} << 20;
  std::unique_ptr<char[]> memory(new char[kTouched]);
  std::memset(memory.get(), 1, kTouched);
  const double cpu_start = CpuSecondsNow();
  volatile double spin = 0;
  while (CpuSecondsNow() - cpu_start < 0.05)
    spin = spin + 1;
  const std::map<std::string, double> after = Samples(registry);
  close(first);
  close(second);
  EXPECT_EQ(after.at("process_open_fds"), before.at("process_open_fds") + 2);
  EXPECT_GT(after.at("process_resident_memory_bytes"),
            before.at("process_resident_memory_bytes") + 48e6);
  EXPECT_GE(after.at("process_cpu_seconds_total"), before.at("process_cpu_seconds_total") + 0.05);
  EXPECT_EQ(after.at("process_start_time_seconds"), before.at("process_start_time_seconds"));
  EXPECT_EQ(Samples(registry).at("process_open_fds"), before.at("process_open_fds"));
  EXPECT_EQ(memory[kTouched - 1], 1);
}

}  // namespace
}  // namespace dd::metrics
