// Gives the statuses gRPC's C++ server answers by itself, with no message, one that says what
// was wrong:
// - a request whose bytes do not parse as the method's message: INTERNAL "" becomes
//   INVALID_ARGUMENT naming the message expected. INTERNAL told the caller the server failed (and
//   logged an error for whoever watches them) when the caller sent JSON, bytes cut short or a
//   string that is not UTF-8.
// - a method this server does not serve: UNIMPLEMENTED "" keeps its code and names the services
//   it does serve, so that a client pointed at the wrong port (dd-session's --critic at
//   dd-render, say) is told so; a method of a served service that its handler leaves to the
//   generated default is said to be not implemented.
// - a call whose stream ended before a whole request arrived (cut off by the client, or by this
//   server past --max_request_memory_bytes, or with no message sent): INTERNAL "Couldn't
//   initialize byte buffer reader", a server failure to whoever reads the metrics, becomes
//   CANCELLED saying so and naming the bound.
// And one whose message says too little: a call refused because every thread for calls is taken
// (RESOURCE_EXHAUSTED "Server Threadpool Exhausted") keeps its code and names the limit it met.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/support/server_interceptor.h>

namespace dd {

// The server's bounds, as its flags name them, for the messages that say which one a call met.
struct ServerLimits {
  int max_threads = 0;
  int64_t max_request_memory_bytes = 0;
};

// For ServerBuilder::experimental().SetInterceptorCreators, ahead of the interceptors that log
// and count calls, so that they see the status the caller gets. `served_services` are the full
// names of the services the server serves.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ExplainedStatusInterceptorFactory(std::vector<std::string> served_services, ServerLimits limits);

}  // namespace dd
