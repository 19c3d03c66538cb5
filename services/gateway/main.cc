// dd-gateway: HTTP/JSON for web and mobile clients, in front of dd-session (SessionGateway,
// served by GatewayHttpServer). Stateless; run as many as needed behind any HTTP load balancer.
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/client_context.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/build_info/build_info.h"
#include "common/log/log.h"
#include "common/metrics/registry.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/gateway/api_descriptor_set.h"
#include "services/gateway/http_server.h"
#include "services/gateway/openapi.h"
#include "services/gateway/session_gateway.h"
#include "services/shared/client_channel.h"
#include "services/shared/flag_checks.h"
#include "services/shared/metrics_endpoint.h"
#include "services/shared/service_main.h"

ABSL_FLAG(std::string, session, "127.0.0.1:50054",
          "Session service: host:port, or dns:///name:port to use every replica it resolves to.");
ABSL_FLAG(absl::Duration, call_timeout, absl::Minutes(2),
          "Deadline of each call to dd-session (NextLoop may wait for a training round).");
ABSL_FLAG(int64_t, max_body_bytes, 1 << 20,
          "Largest request body accepted, in bytes; larger ones get 413.");
ABSL_FLAG(int, threads, 16, "HTTP requests served at once.");
ABSL_FLAG(absl::Duration, max_queue_wait, absl::Seconds(10),
          "An API request that waited longer than this for a free thread (all --threads busy) "
          "is answered 503 at once instead of being sent to dd-session after its client has "
          "likely given up; inf never refuses.");
ABSL_FLAG(std::vector<std::string>, methods, {},
          "SessionService methods to serve, comma-separated (StreamLoopAudio: the audio GET); "
          "empty serves all. E.g. a gateway open to the internet without DeleteUser and "
          "ExportSession, and one for the operators' network with them.");
ABSL_FLAG(std::vector<std::string>, cors_origin, {},
          "Origins whose browser pages may call the API (CORS), comma-separated, e.g. "
          "https://app.example.com,https://staging.example.com, or * for any; empty sends no "
          "CORS headers (same-origin use, or apps that are not browsers).");

namespace v1 = deepdrummer::v1;

int main(int argc, char** argv) {
  dd::InitService(argc, argv, "gateway",
                  "HTTP/JSON in front of dd-session, for web and mobile clients.\n"
                  "POST /v1/SessionService/<Method> with the request as proto3 JSON; GET /healthz, "
                  "GET /readyz.\nUsage: dd-gateway --port=8080 --session=127.0.0.1:50054");
  dd::GatewayHttpOptions http_options;
  http_options.threads = absl::GetFlag(FLAGS_threads);
  http_options.max_queue_wait = absl::GetFlag(FLAGS_max_queue_wait);
  http_options.max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  http_options.cors_origins = absl::GetFlag(FLAGS_cors_origin);
  dd::SessionGatewayOptions options;
  options.call_timeout = absl::GetFlag(FLAGS_call_timeout);
  options.methods = absl::GetFlag(FLAGS_methods);
  // --threads, --max_queue_wait and --max_body_bytes are checked by GatewayHttpServer::Create,
  // --methods by SessionGateway::Create, each naming the option as the flag does.
  if (absl::Status s =
          dd::FirstError({dd::CheckTargetFlag("session", absl::GetFlag(FLAGS_session)),
                          dd::CheckPositiveDurationFlag("call_timeout", options.call_timeout)});
      !s.ok()) {
    return dd::StartupFailed(s);
  }
  const dd::GrpcServerOptions listen = dd::ServerOptionsFromFlags();
  auto channel_options = dd::ClientChannelOptionsFromFlags();
  if (!channel_options.ok()) return dd::StartupFailed(channel_options.status());
  // Inline audio and exports come back in replies.
  channel_options->max_receive_message_bytes = listen.max_receive_message_bytes;
  auto channel = dd::ClientChannel(absl::GetFlag(FLAGS_session), *channel_options);
  auto session = v1::SessionService::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto made = dd::SessionGateway::Create(*session, options);
  if (!made.ok()) return dd::StartupFailed(absl::StrCat("--", made.status().message()));
  const std::unique_ptr<const dd::SessionGateway> gateway = *std::move(made);
  // Ready while dd-session answers SERVING (and the HTTP server is not shutting down).
  const auto session_serving = [&health]() -> absl::Status {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest check;
    grpc::health::v1::HealthCheckResponse answer;
    const grpc::Status status = health->Check(&context, check, &answer);
    if (!status.ok()) return absl::UnavailableError("dd-session: " + status.error_message());
    if (answer.status() != grpc::health::v1::HealthCheckResponse::SERVING)
      return absl::UnavailableError("dd-session is not serving");
    return absl::OkStatus();
  };

  // The API described for client generators, made once from the protos built into the binary.
  auto openapi = dd::SessionApiOpenApi(dd::SessionApiDescriptorSet(), gateway->Methods(),
                                       gateway->ServesLoopAudio());
  if (!openapi.ok()) return dd::StartupFailed(openapi.status());
  // With --metrics_port: API calls by method and HTTP status, and their durations.
  std::unique_ptr<dd::metrics::Registry> metrics;
  if (listen.metrics_port >= 0) {
    metrics = std::make_unique<dd::metrics::Registry>();
    if (absl::Status added = dd::AddBuildAndProcessMetrics(*metrics); !added.ok())
      return dd::StartupFailed(added);
  }
  auto created = dd::GatewayHttpServer::Create(*gateway, *std::move(openapi), session_serving,
                                               http_options, metrics.get());
  if (!created.ok()) return dd::StartupFailed(absl::StrCat("--", created.status().message()));
  const std::unique_ptr<dd::GatewayHttpServer> http = *std::move(created);
  std::unique_ptr<dd::MetricsEndpoint> metrics_endpoint;
  if (metrics != nullptr) {
    // The probes here too: the main port's wait behind API calls when every thread is busy.
    auto endpoint = dd::MetricsEndpoint::Start(listen.host, listen.metrics_port, *metrics,
                                               {.serving = [&http] { return http->serving(); },
                                                .ready = [&http] { return http->Ready(); }});
    if (!endpoint.ok()) return dd::StartupFailed(endpoint.status());
    metrics_endpoint = *std::move(endpoint);
  }

  auto port = http->Bind(listen.host, listen.port);
  if (!port.ok()) return dd::StartupFailed(port.status());
  if (!listen.port_file.empty()) {
    if (absl::Status written = dd::WritePortFile(listen.port_file, *port); !written.ok())
      return dd::StartupFailed(written);
  }
  std::thread serving([&http] { http->Serve(); });
  dd::log::Info(
      "server.listening",
      {{"address", absl::StrCat(listen.host, ":", *port)},
       {"version", dd::BuildVersion()},
       {"commit", dd::BuildCommit()},
       {"metrics", metrics_endpoint == nullptr ? std::string("none") : metrics_endpoint->Url()},
       {"session", absl::GetFlag(FLAGS_session)},
       {"max_body_bytes", http_options.max_body_bytes}});
  const std::string signal = dd::WaitForShutdownSignal();
  dd::log::Info("server.shutdown_requested", {{"signal", signal}});
  // Stops accepting; requests in flight finish (each bounded by --call_timeout).
  http->Shutdown();
  serving.join();
  dd::log::Info("server.stopped", {{"address", absl::StrCat(listen.host, ":", *port)}});
  return EXIT_SUCCESS;
}
