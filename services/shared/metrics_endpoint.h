// Serves a metrics registry over HTTP (GET /metrics, Prometheus' text format) on threads of its
// own, for scrapers, and optionally GET /healthz and /readyz for probes: those that cannot speak
// gRPC over TLS (as Kubernetes' built-in gRPC probe cannot), and dd-gateway's, which would
// otherwise wait behind API requests for its busy HTTP threads; every other path is 404.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/metrics/registry.h"

namespace httplib {
class Server;
}

namespace dd {

class MetricsEndpoint {
 public:
  struct Probes {
    // When set, GET /healthz answers 200 {"status":"SERVING"} while it returns true, 503
    // {"status":"NOT_SERVING"} otherwise.
    std::function<bool()> serving;
    // When set, GET /readyz answers 200 {"status":"SERVING"} while it returns OK, 503 with the
    // error's code and message as JSON otherwise.
    std::function<absl::Status()> ready;
  };

  // Listens on host:port (0: a free port). `registry` must outlive the endpoint.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& host, int port,
                                                                const metrics::Registry& registry,
                                                                Probes probes = {});
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

// Adds dd_build_info{version, commit} 1 to `registry` (which build a pod runs, for dashboards
// and alerts across a rollout) and the standard process_* metrics (common/metrics/
// process_metrics.h). Every server's metrics carry them.
absl::Status AddBuildAndProcessMetrics(metrics::Registry& registry);

}  // namespace dd
