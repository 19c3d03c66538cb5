#include "services/shared/service_main.h"

#include <cstdlib>
#include <iostream>
#include <limits>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/build_info/build_info.h"
#include "common/log/log.h"
#include "services/shared/flag_checks.h"
#include "services/shared/flag_log.h"
#include "services/shared/library_logs.h"
#include "services/shared/tls_flags.h"

ABSL_FLAG(std::string, host, "127.0.0.1",
          "Address to listen on: 127.0.0.1 for loopback only, 0.0.0.0 for all interfaces.");
ABSL_FLAG(int, port, 0, "Port to listen on; 0 picks a free one (see --port_file).");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound port is written to this file once the server listens.");
ABSL_FLAG(int, max_message_bytes, 64 << 20,
          "Largest gRPC message sent (replies; requests to other services) and reply taken "
          "from other services, in bytes (gRPC's own default is 4 MiB).");
ABSL_FLAG(std::string, log_level, "info", "Minimum log level: debug, info, warning or error.");
ABSL_FLAG(int, metrics_port, -1,
          "Port of an HTTP endpoint serving GET /metrics in Prometheus' text format (calls "
          "started, handled by status code, durations, calls in flight), on --host. 0 picks a "
          "free port; -1 serves none.");

namespace dd {

std::string FlagFileForHelp(std::string_view file) {
  // The last one: a checkout may itself sit under a folder named services.
  const size_t at = file.rfind("/services/");
  return std::string(at == std::string_view::npos ? file : file.substr(at + 1));
}

void InitService(int argc, char** argv, std::string_view component, std::string_view usage) {
  absl::FlagsUsageConfig config;
  // absl only lists flags from files named after the binary; ours live in services/.
  config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "services/");
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  config.normalize_filename = [](absl::string_view file) {
    return FlagFileForHelp(std::string_view(file.data(), file.size()));
  };
  config.version_string = [] {
    // Debian's Abseil has its own string_view, hence the strings.
    return absl::StrCat("deepdrummer ", std::string(BuildVersion()), " (commit ",
                        std::string(BuildCommit()), ")\n");
  };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(std::string(usage));
  absl::ParseCommandLine(argc, argv);

  log::SetComponent(component);
  log::Level level;
  if (!log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::cerr << "--log_level must be debug, info, warning or error\n";
    std::exit(2);
  }
  log::SetMinLevel(level);
  RouteLibraryLogsToJson();
  log::Emit(log::Level::kInfo, "server.flags", {log::Field::Json("flags", ChangedFlagsJson())});
  if (absl::Status s = CheckIntFlag("max_message_bytes", absl::GetFlag(FLAGS_max_message_bytes), 1,
                                    std::numeric_limits<int>::max());
      !s.ok()) {
    std::cerr << s.message() << "\n";
    std::exit(2);
  }
  BlockShutdownSignals();
}

GrpcServerOptions ServerOptionsFromFlags() {
  GrpcServerOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.port = absl::GetFlag(FLAGS_port);
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.max_receive_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.max_send_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.tls = ClientTlsFilesFromFlags();
  return options;
}

int StartupFailed(const absl::Status& status) {
  return StartupFailed(status.ToString());
}

int StartupFailed(std::string_view error) {
  log::Error("startup.failed", {{"error", error}});
  return EXIT_FAILURE;
}

}  // namespace dd
