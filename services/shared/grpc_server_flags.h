// The flags only gRPC servers have (dd-render, dd-critic, dd-generator, dd-session):
// --max_request_bytes, --max_threads, --max_connection_age, --shutdown_grace and
// --tls_client_ca_file. Apart from service_main.cc so that dd-gateway, which serves HTTP and
// links only that, neither lists them in --help nor takes them silently.
#pragma once

#include "absl/status/statusor.h"
#include "services/shared/grpc_server.h"

namespace dd {

// ServerOptionsFromFlags() (service_main.h) with the gRPC server's own flags. The server takes
// requests up to `own_max_request_bytes` unless --max_request_bytes says otherwise: each service
// bounds them by what its requests can hold, so that a client cannot make it read 64 MiB
// messages it has no use for. INVALID_ARGUMENT, naming the flag, for a value no server could
// run with; call it before opening anything.
absl::StatusOr<GrpcServerOptions> GrpcServerOptionsFromFlags(int own_max_request_bytes);

// Serves until SIGTERM or SIGINT, then shuts down gracefully: calls in flight get
// --shutdown_grace to finish. Returns main()'s exit code.
int ServeUntilSignalled(GrpcServer& server);

}  // namespace dd
