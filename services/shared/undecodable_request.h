// Answers a request whose bytes do not parse as the method's message INVALID_ARGUMENT, naming the
// message expected. gRPC's C++ server answers it INTERNAL with an empty message, which tells the
// caller the server failed and pages whoever watches for INTERNAL, when the caller sent bytes of
// another message, another version of it, or no protobuf at all.
#pragma once

#include <memory>

#include <grpcpp/support/server_interceptor.h>

namespace dd {

// For ServerBuilder::experimental().SetInterceptorCreators, ahead of the interceptors that log
// and count calls, so that they see the status the caller gets.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
UndecodableRequestInterceptorFactory();

}  // namespace dd
