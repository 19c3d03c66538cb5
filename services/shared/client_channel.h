// Outgoing channels to the other services, made one way everywhere.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/time/time.h"

namespace dd {

struct ClientChannelOptions {
  // Largest reply accepted and request sent; gRPC's 4 MiB default is too tight for audio.
  int max_receive_message_bytes = 64 << 20;
  int max_send_message_bytes = 64 << 20;
  // Retry the project's idempotent calls (below) that fail with UNAVAILABLE or
  // RESOURCE_EXHAUSTED, so that a replica restarting or at its --max_concurrent_calls limit
  // hands the call to another replica instead of failing it.
  bool retry_idempotent_calls = true;
  // TLS (see services/shared/tls.h: ChannelCredentialsFor); null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // While calls are in flight, ping the server after this long without a frame from it, and
  // close the connection (failing its calls with UNAVAILABLE, which the retry policy then sends
  // to another replica) when no answer comes within keepalive_timeout. Without it a call to a
  // server whose node vanished waits for its whole deadline (10 minutes for a Train). Infinite:
  // no pings. Our servers accept pings every 10 s (GrpcServerOptions::min_client_ping_interval).
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // Longest wait between attempts to reconnect to a server that went away. gRPC's default grows
  // to 120 s, so a replica back after a restart of a few seconds went unused for tens of seconds
  // (every call in between failing UNAVAILABLE); attempts start 1 s apart and grow 1.6x to this.
  absl::Duration max_reconnect_backoff = absl::Seconds(5);
};

// A channel to `target` ("host:port", "dns:///name:port", "ipv4:a:p,b:q") that spreads calls over
// every address the target resolves to (gRPC's round_robin policy), so that all replicas behind a
// headless Kubernetes Service take work: gRPC's default policy (pick_first) would send every call
// over one connection to one replica. A target with one address behaves as before.
//
// Calls that are safe to repeat are retried (up to 3 attempts, with a random backoff of up to
// 0.1 s, then 0.2 s, so an overloaded backend sees at most three times the calls, spread out):
// every RenderService and GeneratorService call, and CriticService's Train (idempotent per example
// id), Score, GetCritic and GetSnapshot; never CreateCritic, DeleteCritic or SessionService's.
// gRPC keeps up to 256 KiB of a request for retries; larger requests are not retried.
std::shared_ptr<grpc::Channel> ClientChannel(const std::string& target,
                                             const ClientChannelOptions& options = {});

}  // namespace dd
