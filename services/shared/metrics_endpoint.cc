#include "services/shared/metrics_endpoint.h"

#include <httplib.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/build_info/build_info.h"
#include "common/log/log.h"
#include "common/metrics/process_metrics.h"
#include "services/shared/bounded_http_server.h"
#include "services/shared/listen_socket.h"

namespace dd {

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& host, int port, const metrics::Registry& registry, Probes probes) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("the metrics port must be in [0, 65535], got ", port));
  }
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  // Scrapers and probes send GETs of a few hundred bytes: no body, a small head.
  endpoint->http_ = std::make_unique<BoundedHttpServer>(
      HttpLimits{.max_head_bytes = 16 << 10, .max_body_bytes = 0});
  BindPortsExclusively(*endpoint->http_);
  // Scrapes are rare and quick: two threads, not one per core.
  endpoint->http_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  endpoint->http_->Get("/metrics", [&registry](const httplib::Request&, httplib::Response& reply) {
    reply.set_content(registry.Exposition(), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (probes.serving) {
    endpoint->http_->Get("/healthz", [serving = std::move(probes.serving)](
                                         const httplib::Request&, httplib::Response& reply) {
      const bool up = serving();
      reply.status = up ? 200 : 503;
      reply.set_content(up ? R"({"status":"SERVING"})" : R"({"status":"NOT_SERVING"})",
                        "application/json");
    });
  }
  if (probes.ready) {
    endpoint->http_->Get("/readyz", [ready = std::move(probes.ready)](const httplib::Request&,
                                                                      httplib::Response& reply) {
      const absl::Status status = ready();
      reply.status = status.ok() ? 200 : 503;
      reply.set_content(status.ok()
                            ? std::string(R"({"status":"SERVING"})")
                            : absl::StrCat(R"({"code":")", absl::StatusCodeToString(status.code()),
                                           R"(","message":)",
                                           log::JsonString(std::string(status.message())), "}"),
                        "application/json");
    });
  }
  const int bound = port == 0 ? endpoint->http_->bind_to_any_port(host)
                              : (endpoint->http_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return CannotListen("listen for metrics", host, port);
  endpoint->host_ = host;
  endpoint->port_ = bound;
  httplib::Server* http = endpoint->http_.get();
  endpoint->serving_ = std::thread([http] { http->listen_after_bind(); });
  // stop() does nothing to a server that has not begun listening, so a quick shutdown after
  // Start would leave the thread listening for ever: return only once it listens.
  for (int waited_ms = 0; !http->is_running(); ++waited_ms) {
    if (waited_ms == 10000) {
      return absl::InternalError("the metrics endpoint did not start listening within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return endpoint;
}

std::string MetricsEndpoint::Url() const {
  return absl::StrCat("http://", host_, ":", port_, "/metrics");
}

absl::Status AddBuildAndProcessMetrics(metrics::Registry& registry) {
  auto family = registry.AddGauge("dd_build_info", "The build this process runs (always 1).",
                                  {"version", "commit"});
  if (!family.ok()) return family.status();
  (*family)->WithLabels({std::string(BuildVersion()), std::string(BuildCommit())}).Set(1);
  return metrics::AddProcessMetrics(registry);
}

MetricsEndpoint::~MetricsEndpoint() {
  if (http_ != nullptr) http_->stop();
  if (serving_.joinable()) serving_.join();
}

}  // namespace dd
