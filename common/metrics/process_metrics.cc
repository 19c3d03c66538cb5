#include "common/metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace dd::metrics {
namespace {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

double CpuSeconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return kUnknown;
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// /proc/self/statm's first two fields: the virtual size and the resident set, in pages.
double MemoryBytes(bool resident) {
  std::ifstream statm("/proc/self/statm");
  double virtual_pages = 0;
  double resident_pages = 0;
  if (!(statm >> virtual_pages >> resident_pages)) return kUnknown;
  return (resident ? resident_pages : virtual_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double OpenFileDescriptors() {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return kUnknown;
  double count = 0;
  while (const dirent* entry = readdir(fds)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(fds);
  return count - 1;  // The listing's own descriptor.
}

double MaxFileDescriptors() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return kUnknown;
  if (limit.rlim_cur == RLIM_INFINITY) return std::numeric_limits<double>::infinity();
  return static_cast<double>(limit.rlim_cur);
}

// When this process started, in seconds since the epoch: the boot time (/proc/stat's btime)
// plus the process's start in clock ticks after boot (/proc/self/stat's 22nd field, counted
// after the command name, which may hold spaces and parentheses).
double StartTimeSeconds() {
  std::ifstream self_stat("/proc/self/stat");
  std::string line;
  if (!std::getline(self_stat, line)) return kUnknown;
  const size_t name_end = line.rfind(')');
  if (name_end == std::string::npos) return kUnknown;
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(line).substr(name_end + 1), ' ', absl::SkipEmpty());
  // After the name come the state (field 3) onwards, so field 22 is the 20th here.
  double ticks_after_boot = 0;
  if (fields.size() < 20 || !absl::SimpleAtod(fields[19], &ticks_after_boot)) return kUnknown;
  std::ifstream stat("/proc/stat");
  for (std::string entry; std::getline(stat, entry);) {
    double boot_time = 0;
    if (entry.rfind("btime ", 0) == 0 && absl::SimpleAtod(entry.substr(6), &boot_time)) {
      return boot_time + ticks_after_boot / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  return kUnknown;
}

}  // namespace

absl::Status AddProcessMetrics(Registry& registry) {
  using Type = Registry::SampledType;
  // It does not change: read once.
  const double started = StartTimeSeconds();
  struct Sampled {
    const char* name;
    const char* help;
    Type type;
    std::function<double()> read;
  };
  const Sampled all[] = {
      {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
       Type::kCounter, CpuSeconds},
      {"process_resident_memory_bytes", "Resident memory size in bytes.", Type::kGauge,
       [] { return MemoryBytes(/*resident=*/true); }},
      {"process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::kGauge,
       [] { return MemoryBytes(/*resident=*/false); }},
      {"process_open_fds", "Number of open file descriptors.", Type::kGauge, OpenFileDescriptors},
      {"process_max_fds", "Maximum number of open file descriptors.", Type::kGauge,
       MaxFileDescriptors},
      {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
       Type::kGauge, [started] { return started; }},
  };
  for (const Sampled& metric : all) {
    if (absl::Status added =
            registry.AddSampled(metric.name, metric.help, metric.type, metric.read);
        !added.ok()) {
      return added;
    }
  }
  return absl::OkStatus();
}

}  // namespace dd::metrics
