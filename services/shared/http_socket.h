// The listening sockets of the HTTP servers (dd-gateway's API, every server's metrics endpoint).
// cpp-httplib sets SO_REUSEPORT on Linux, so a second server started on a port in use binds it
// without an error and takes a share of the first one's connections (a gateway started twice
// answered half its clients from the stale copy). gRPC's servers are told the same
// (GRPC_ARG_ALLOW_REUSEPORT, grpc_server.cc).
#pragma once

namespace httplib {
class Server;
}

namespace dd {

// Makes `server` bind its port alone: SO_REUSEADDR only, so a restart need not wait for the old
// connections' TIME_WAIT, but a port another socket listens on fails to bind.
void BindPortsExclusively(httplib::Server& server);

}  // namespace dd
