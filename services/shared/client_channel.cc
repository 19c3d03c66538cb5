#include "services/shared/client_channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "services/shared/channel_arg_millis.h"

namespace dd {
namespace {

// gRPC's service config (grpc/doc/service_config.md): which methods are retried, on what.
constexpr char kRetryServiceConfig[] = R"json({
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [
      {"service": "deepdrummer.v1.RenderService"},
      {"service": "deepdrummer.v1.GeneratorService"},
      {"service": "deepdrummer.v1.CriticService", "method": "Train"},
      {"service": "deepdrummer.v1.CriticService", "method": "Score"},
      {"service": "deepdrummer.v1.CriticService", "method": "GetCritic"},
      {"service": "deepdrummer.v1.CriticService", "method": "GetSnapshot"}
    ],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.1s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]
    }
  }]
})json";

}  // namespace

std::shared_ptr<grpc::Channel> ClientChannel(const std::string& target,
                                             const ClientChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  args.SetMaxSendMessageSize(options.max_send_message_bytes);
  args.SetLoadBalancingPolicyName("round_robin");
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              ChannelArgMilliseconds(options.max_reconnect_backoff));
  if (options.retry_idempotent_calls) args.SetServiceConfigJSON(kRetryServiceConfig);
  if (options.keepalive_time != absl::InfiniteDuration()) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, ChannelArgMilliseconds(options.keepalive_time));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ChannelArgMilliseconds(options.keepalive_timeout));
    // Only while calls are in flight, but then for as long as they last: a Train may send
    // nothing for minutes, and gRPC otherwise stops pinging after two pings without data.
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  return grpc::CreateCustomChannel(
      target,
      options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials(),
      args);
}

}  // namespace dd
