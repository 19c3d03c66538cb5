// One id follows a client's request through every service it reaches, so that an operator can
// find all the log lines of one failed request across dd-gateway, dd-session, dd-generator,
// dd-critic and dd-render. It travels as gRPC metadata (and as the HTTP header X-Request-Id at
// the gateway); every server returns it in its response's trailing metadata, logs it with each
// call (event rpc.finished). A call that arrives without a usable id gets a new one.
#pragma once

#include <string>
#include <string_view>

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

namespace dd {

inline constexpr char kRequestIdMetadataKey[] = "x-request-id";
inline constexpr size_t kMaxRequestIdBytes = 128;

// 1 to 128 bytes of printable ASCII (what gRPC allows in a text metadata value), so that a
// client's id can be logged and forwarded as it is.
bool IsUsableRequestId(std::string_view id);

// 32 random lowercase hexadecimal digits.
std::string NewRequestId();

// The id of the call `context` serves: the client's, or the one the server's call log gave it
// (GrpcServer installs that log on every server); empty on a server without it.
std::string RequestIdOf(const grpc::ServerContext& context);

// Sends `id` with an outgoing call; an empty id sends none, so the callee makes one.
void AttachRequestId(std::string_view id, grpc::ClientContext& context);

}  // namespace dd
