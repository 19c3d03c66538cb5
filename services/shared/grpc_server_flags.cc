#include "services/shared/grpc_server_flags.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "services/shared/flag_checks.h"
#include "services/shared/service_main.h"

ABSL_FLAG(int, max_request_bytes, 0,
          "Largest gRPC request this server takes, in bytes; a larger one is refused "
          "RESOURCE_EXHAUSTED. 0: the server's own bound, what its largest valid request "
          "needs (dd-critic 64 MiB, for batches of clips; dd-generator 4 MiB; dd-render and "
          "dd-session 1 MiB).");
ABSL_FLAG(int64_t, max_request_memory_bytes, 256 << 20,
          "Memory gRPC may hold for requests still arriving, in bytes; past it, the largest "
          "is reset (RESOURCE_EXHAUSTED). gRPC reads a request whole before it checks "
          "--max_request_bytes, so this is what bounds the memory clients can take. 0: no "
          "bound.");
ABSL_FLAG(int, max_threads, 1024,
          "Threads the gRPC server may run calls on (one per call in flight); a call beyond "
          "them is refused RESOURCE_EXHAUSTED. 0: no bound.");
ABSL_FLAG(absl::Duration, max_connection_age, absl::InfiniteDuration(),
          "Ask clients to reconnect after this long (e.g. 5m), so that they find replicas added "
          "since they connected; inf keeps connections open.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM, how long calls in flight may run before they are cancelled.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA certificates: accept only clients presenting a certificate they signed "
          "(mutual TLS). Empty: clients need no certificate.");

namespace dd {

absl::StatusOr<GrpcServerOptions> GrpcServerOptionsFromFlags(int own_max_request_bytes) {
  const int max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  if (absl::Status s = FirstError(
          {CheckIntFlag("max_request_bytes", max_request_bytes, 0, std::numeric_limits<int>::max()),
           CheckIntFlag("max_request_memory_bytes", absl::GetFlag(FLAGS_max_request_memory_bytes),
                        0, std::numeric_limits<int64_t>::max()),
           CheckNonNegativeDurationFlag("shutdown_grace", absl::GetFlag(FLAGS_shutdown_grace))});
      !s.ok()) {
    return s;
  }
  GrpcServerOptions options = ServerOptionsFromFlags();
  options.max_receive_message_bytes =
      max_request_bytes > 0 ? max_request_bytes : own_max_request_bytes;
  options.max_request_memory_bytes = absl::GetFlag(FLAGS_max_request_memory_bytes);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  return options;
}

int ServeUntilSignalled(GrpcServer& server) {
  const std::string signal = WaitForShutdownSignal();
  log::Info("server.shutdown_requested", {{"signal", signal}});
  server.Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  return 0;
}

}  // namespace dd
