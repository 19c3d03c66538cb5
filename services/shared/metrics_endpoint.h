// Serves a metrics registry over HTTP (GET /metrics, Prometheus' text format) on a thread of its
// own, for scrapers, and optionally GET /healthz for probes that cannot speak gRPC over TLS (as
// Kubernetes' built-in gRPC probe cannot); every other path is 404.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/metrics/registry.h"

namespace httplib {
class Server;
}

namespace dd {

class MetricsEndpoint {
 public:
  // Listens on host:port (0: a free port). `registry` must outlive the endpoint. With `serving`,
  // GET /healthz answers 200 {"status":"SERVING"} while it returns true, 503 otherwise.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& host, int port, const metrics::Registry& registry,
      std::function<bool()> serving = nullptr);
  // Stops listening; a scrape in progress finishes first.
  ~MetricsEndpoint();

  int port() const { return port_; }
  // "http://host:port/metrics", for logs.
  std::string Url() const;

 private:
  MetricsEndpoint() = default;
  std::unique_ptr<httplib::Server> http_;
  std::thread serving_;
  std::string host_;
  int port_ = 0;
};

// Adds dd_build_info{version, commit} 1 to `registry`: which build a pod runs, for dashboards
// and alerts across a rollout. Every server's metrics carry it.
absl::Status AddBuildInfoGauge(metrics::Registry& registry);

}  // namespace dd
