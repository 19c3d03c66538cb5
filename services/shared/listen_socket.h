// Listening sockets that bind their port alone, and one error for a port that cannot be bound.
//
// gRPC and cpp-httplib set SO_REUSEPORT on Linux, so a second server started on a port in use
// binds it without an error and takes a share of the first one's connections (a dd-render or
// dd-gateway started twice answered part of its clients from the stale copy). gRPC's servers are
// told not to with GRPC_ARG_ALLOW_REUSEPORT (grpc_server.cc); the HTTP servers (dd-gateway's
// API, every server's metrics endpoint) with BindPortsExclusively.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace httplib {
class Server;
}

namespace dd {

// Makes `server` bind its port alone: SO_REUSEADDR only, so a restart need not wait for the old
// connections' TIME_WAIT, but a port another socket listens on fails to bind.
void BindPortsExclusively(httplib::Server& server);

// UNAVAILABLE: `what` ("listen", "listen for metrics") could not bind `host`:`port`, with the
// two usual causes.
absl::Status CannotListen(std::string_view what, std::string_view host, int port);

}  // namespace dd
