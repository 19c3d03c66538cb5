// Outgoing channels to the other services, made one way everywhere.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

namespace dd {

struct ClientChannelOptions {
  // Largest reply accepted and request sent; gRPC's 4 MiB default is too tight for audio.
  int max_receive_message_bytes = 64 << 20;
  int max_send_message_bytes = 64 << 20;
};

// A channel to `target` ("host:port", "dns:///name:port", "ipv4:a:p,b:q") that spreads calls over
// every address the target resolves to (gRPC's round_robin policy), so that all replicas behind a
// headless Kubernetes Service take work: gRPC's default policy (pick_first) would send every call
// over one connection to one replica. A target with one address behaves as before.
std::shared_ptr<grpc::Channel> ClientChannel(const std::string& target,
                                             const ClientChannelOptions& options = {});

}  // namespace dd
