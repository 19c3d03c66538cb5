#include "services/shared/grpc_server.h"

#include <signal.h>

#include <chrono>
#include <fstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "common/build_info/build_info.h"
#include "common/log/log.h"
#include "services/shared/call_log.h"
#include "services/shared/channel_arg_millis.h"
#include "services/shared/explained_status.h"
#include "services/shared/listen_socket.h"

namespace dd {

absl::Status WritePortFile(const std::string& path, int port) {
  // Written to a temporary name and renamed, so a reader never sees a half-written port.
  const std::string temporary = path + ".tmp";
  {
    std::ofstream file(temporary, std::ios::trunc);
    file << port << "\n";
    if (!file) return absl::InternalError(absl::StrCat("cannot write ", temporary));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", temporary, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options, const std::vector<grpc::Service*>& services) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port must be in [0, 65535], got ", options.port));
  }
  if (options.max_receive_message_bytes <= 0 || options.max_send_message_bytes <= 0) {
    return absl::InvalidArgumentError("message size limits must be positive");
  }
  if (options.max_request_memory_bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_request_memory_bytes must be 0 (no bound) or positive, got ",
                     options.max_request_memory_bytes));
  }
  // gRPC's poller takes a thread of the bound: with one, no call is ever served.
  if (options.max_threads < 0 || options.max_threads == 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_threads must be 0 (no bound) or at least 2, got ", options.max_threads));
  }
  if (options.max_connection_age < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("max connection age must be at least 1ms, got ",
                     absl::FormatDuration(options.max_connection_age)));
  }
  if (options.metrics_port < -1 || options.metrics_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics port must be in [0, 65535], or -1 for none, got ", options.metrics_port));
  }
  auto credentials = ServerCredentialsFor(options.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<GrpcServer> server(new GrpcServer());
  server->host_ = options.host;
  server->health_service_names_ = options.health_service_names;
  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(options.host, ":", options.port);
  builder.AddListeningPort(address, *credentials, &server->port_);
  // gRPC sets SO_REUSEPORT by default (listen_socket.h says why not).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  // gRPC inflates a compressed request whole before it compares it with the size limit, outside
  // its memory quota: a 1 MB gzip request (1000 MB of one letter) made dd-session hold 1.1 GB,
  // past its pod's limit. Our requests are small or audio that gzip barely shrinks, so the
  // server takes them uncompressed only: a compressed one is refused UNIMPLEMENTED as soon as
  // its headers arrive, before a byte of it is read.
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_DEFLATE, false);
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_GZIP, false);
  builder.SetMaxSendMessageSize(options.max_send_message_bytes);
  if (options.max_threads > 0 || options.max_request_memory_bytes > 0) {
    grpc::ResourceQuota quota("dd-server");
    if (options.max_threads > 0) quota.SetMaxThreads(options.max_threads);
    if (options.max_request_memory_bytes > 0) {
      quota.Resize(static_cast<size_t>(options.max_request_memory_bytes));
    }
    builder.SetResourceQuota(quota);
  }
  if (options.max_connection_age != absl::InfiniteDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               ChannelArgMilliseconds(options.max_connection_age));
  }
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             ChannelArgMilliseconds(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             ChannelArgMilliseconds(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ChannelArgMilliseconds(options.min_client_ping_interval));
  // Pings only while calls are in flight, but through the longest of them (gRPC otherwise stops
  // after two pings without data).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  // First, so that the call log and the metrics see the status the caller gets.
  std::vector<std::string> served = options.health_service_names;
  served.insert(served.end(),
                {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"});
  interceptors.push_back(ExplainedStatusInterceptorFactory(
      std::move(served), {.max_threads = options.max_threads,
                          .max_request_memory_bytes = options.max_request_memory_bytes}));
  interceptors.push_back(CallLogInterceptorFactory());
  if (options.metrics_port >= 0) {
    server->metrics_registry_ = options.metrics_registry;
    if (server->metrics_registry_ == nullptr) {
      server->own_metrics_registry_ = std::make_unique<metrics::Registry>();
      server->metrics_registry_ = server->own_metrics_registry_.get();
    }
    auto call_metrics = GrpcServerMetrics::Create(*server->metrics_registry_);
    if (!call_metrics.ok()) return call_metrics.status();
    if (absl::Status added = AddBuildAndProcessMetrics(*server->metrics_registry_); !added.ok()) {
      return added;
    }
    server->call_metrics_ = *std::move(call_metrics);
    interceptors.push_back(server->call_metrics_->InterceptorFactory());
  }
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  for (grpc::Service* service : services)
    builder.RegisterService(service);
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return CannotListen("listen", options.host, options.port);
  }
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  for (const std::string& name : options.health_service_names)
    health->SetServingStatus(name, true);
  server->serving_ = true;

  if (options.metrics_port >= 0) {
    GrpcServer* self = server.get();
    auto endpoint = MetricsEndpoint::Start(
        options.host, options.metrics_port, *server->metrics_registry_,
        {.serving = [self] { return self->serving_.load(); }, .ready = nullptr});
    if (!endpoint.ok()) return endpoint.status();
    server->metrics_endpoint_ = *std::move(endpoint);
  }
  if (!options.port_file.empty()) {
    if (absl::Status written = WritePortFile(options.port_file, server->port_); !written.ok())
      return written;
  }
  log::Info("server.listening",
            {{"address", server->address()},
             {"version", BuildVersion()},
             {"commit", BuildCommit()},
             {"metrics", server->metrics_endpoint_ == nullptr ? std::string("none")
                                                              : server->metrics_endpoint_->Url()},
             {"tls", options.tls.cert_file.empty()        ? std::string("off")
                     : options.tls.client_ca_file.empty() ? std::string("on")
                                                          : std::string("mutual")},
             {"max_receive_bytes", options.max_receive_message_bytes},
             {"max_send_bytes", options.max_send_message_bytes},
             {"max_request_memory_bytes", options.max_request_memory_bytes},
             {"max_threads", options.max_threads}});
  return server;
}

GrpcServer::~GrpcServer() {
  Shutdown(absl::ZeroDuration());
}

std::string GrpcServer::address() const {
  return absl::StrCat(host_, ":", port_);
}

int GrpcServer::metrics_port() const {
  return metrics_endpoint_ == nullptr ? -1 : metrics_endpoint_->port();
}

void GrpcServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  serving_ = false;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(false);
    for (const std::string& name : health_service_names_)
      health->SetServingStatus(name, false);
  }
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::milliseconds(absl::ToInt64Milliseconds(grace));
  server_->Shutdown(deadline);
  server_->Wait();
  metrics_endpoint_.reset();  // Scrapes answer until the calls they count have ended.
  log::Info("server.stopped", {{"address", address()}});
}

void BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

std::string WaitForShutdownSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int received = 0;
  sigwait(&signals, &received);
  return received == SIGTERM ? "SIGTERM" : "SIGINT";
}

}  // namespace dd
