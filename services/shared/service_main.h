// Start-up shared by every service's main(): flags, logging, and the common server options.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "services/shared/grpc_server.h"
#include "services/shared/tls_flags.h"

namespace dd {

// Parses flags (--help prints every flag of the service and exits), sets up structured logging
// with `component` as the service name, and blocks the shutdown signals. Exits on bad flags.
// `usage` is what --help prints after "<program>: ", so it does not name the program again.
void InitService(int argc, char** argv, std::string_view component, std::string_view usage);

// A flag's source file as --help names it: from the repository's services/ folder on
// ("services/render/main.cc"), not the absolute path of whoever built the binary.
std::string FlagFileForHelp(std::string_view file);

// The options every server's flags give: --host, --port, --port_file, --metrics_port,
// --max_message_bytes (both message limits; a gRPC server's requests are bounded by
// GrpcServerOptionsFromFlags) and the --tls_* files of tls_flags.h (checked when the server
// starts). The channels to other services come from ClientChannelOptionsFromFlags.
GrpcServerOptions ServerOptionsFromFlags();

// Logs why the service could not start (event startup.failed) and returns main()'s exit code.
int StartupFailed(const absl::Status& status);
int StartupFailed(std::string_view error);

}  // namespace dd
