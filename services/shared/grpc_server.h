// Starting and stopping a gRPC server the same way in every service: health and reflection
// services on, message size limits set on purpose, the bound port reported, graceful shutdown.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/impl/codegen/service_type.h>
#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "services/shared/grpc_metrics.h"
#include "services/shared/metrics_endpoint.h"
#include "services/shared/tls.h"

namespace dd {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";  // Loopback by default; 0.0.0.0 in containers.
  int port = 0;                    // 0 picks a free port (tests); see GrpcServer::port().
  // A 9 s float clip is 1.6 MB and a Score batch holds many; 4 MiB (gRPC's default) is too tight.
  int max_receive_message_bytes = 64 << 20;
  int max_send_message_bytes = 64 << 20;
  // Memory gRPC may hold for the server's connections and the requests arriving on them (its
  // ResourceQuota). gRPC reads a request whole before it compares it with
  // max_receive_message_bytes (grpc/grpc#43012): without this bound one client's 500 MB request
  // held 500 MB of dd-session, and a 1 GB one would pass its pod's 1 GiB limit. Past it, gRPC
  // resets the largest stream arriving (the client sees RESOURCE_EXHAUSTED, "RST_STREAM with
  // error code 11"). Replies are not counted. 0: no bound.
  int64_t max_request_memory_bytes = 256 << 20;
  // Threads the server may run calls on (gRPC's sync server runs each call on a thread of its
  // own); a call that finds none is refused RESOURCE_EXHAUSTED, which our clients retry on
  // another replica; health checks still answer (gRPC serves them on its own threads). gRPC
  // sets no bound: 2,000 NextLoop calls waiting on a stopped generator gave dd-session 1,860
  // threads, so a flood could exhaust a pod's pids or memory. One thread polls, so about
  // max_threads - 1 calls run at once. 0: no bound; 1 is refused (it would serve nothing).
  int max_threads = 1024;
  // Where to write the bound port once listening (for scripts and tests); empty for none.
  std::string port_file;
  // Names reported SERVING by the health service, besides the overall "" entry.
  std::vector<std::string> health_service_names;
  // Connections older than this are asked to close (GOAWAY; calls in flight finish), so that
  // clients resolve the service's name again and spread calls over replicas added since. Infinite
  // keeps connections as long as the clients do.
  absl::Duration max_connection_age = absl::InfiniteDuration();
  // Ping a client after this long without a frame from it, and close the connection when no
  // answer comes within keepalive_timeout: calls of clients that vanished (a node lost, a
  // network partition) end instead of holding their threads and admission slots for hours.
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Clients may ping this often while calls are in flight (ClientChannelOptions::keepalive_time
  // is 30 s); more often, gRPC's default policy answers with GOAWAY. Its default is 5 minutes.
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  // Port of an HTTP endpoint serving GET /metrics (Prometheus' text format: calls started,
  // handled by status code, their durations, calls in flight) on `host`, and GET /healthz (the
  // health service's overall status, for probes that cannot speak gRPC over TLS). 0 picks a free
  // port (see GrpcServer::metrics_port()); -1 serves neither.
  int metrics_port = -1;
  // Not owned: the registry to count calls in and serve, so that the service's own metrics
  // (filled by its libraries) are served alongside. Null: the server keeps one of its own.
  metrics::Registry* metrics_registry = nullptr;
  // TLS or mutual TLS from PEM files (cert_file, key_file, client_ca_file); none: plaintext.
  TlsFiles tls;
};

class GrpcServer {
 public:
  // Builds and starts the server. Services are not owned and must outlive it.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options, const std::vector<grpc::Service*>& services);
  ~GrpcServer();

  int port() const { return port_; }
  std::string address() const;
  // The metrics endpoint's port; -1 when it serves none.
  int metrics_port() const;
  // Where the server's metrics are kept; null without a metrics port.
  metrics::Registry* metrics() const { return metrics_registry_; }

  // Reports NOT_SERVING (so load balancers drain us), lets calls in flight finish for up to
  // `grace`, then cancels what is left.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer() = default;
  // Declared before the server, so that they outlive it: its interceptors count into them.
  std::unique_ptr<metrics::Registry> own_metrics_registry_;
  metrics::Registry* metrics_registry_ = nullptr;
  std::unique_ptr<GrpcServerMetrics> call_metrics_;
  std::unique_ptr<MetricsEndpoint> metrics_endpoint_;
  std::unique_ptr<grpc::Server> server_;
  std::string host_;
  int port_ = 0;
  std::vector<std::string> health_service_names_;
  // What the health service reports overall, for the metrics port's /healthz.
  std::atomic<bool> serving_{false};
  bool shut_down_ = false;
};

// Writes `port` to `path` so that scripts and tests can find a server that picked a free port; a
// reader never sees a half-written file.
absl::Status WritePortFile(const std::string& path, int port);

// Call first thing in main(), before any thread exists: blocks SIGTERM and SIGINT in every thread
// so that WaitForShutdownSignal() can receive them synchronously.
void BlockShutdownSignals();
// Waits for SIGTERM or SIGINT; returns the signal's name.
std::string WaitForShutdownSignal();

}  // namespace dd
