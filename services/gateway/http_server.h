// dd-gateway's HTTP side: the routes that serve a SessionGateway to web and mobile clients
// (POST /v1/SessionService/<Method>, GET /v1/loops/<id>/audio, GET /v1/openapi.json, the probes),
// CORS, errors of the HTTP layer in the API's JSON form, refusal of requests that queued too long,
// keep-alive that leaves threads for new clients, and per-request metrics and log lines.
// main.cc reads the flags, makes the channel to dd-session and runs this until SIGTERM.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "services/gateway/session_gateway.h"
#include "services/gateway/timed_task_queue.h"
#include "services/shared/bounded_http_server.h"

namespace dd {

struct GatewayHttpOptions {
  // HTTP requests served at once (threads); a kept-alive connection holds one while idle.
  int threads = 16;
  // A request that waited longer than this for a free thread is answered 503 at once, instead
  // of being sent to dd-session after its client has likely given up; infinite never refuses.
  absl::Duration max_queue_wait = absl::Seconds(10);
  // Largest request body accepted, as sent or as its chunks add up; larger ones are 413. At
  // least 1024. Request heads are limited to 64 KiB (431); see bounded_http_server.h.
  int64_t max_body_bytes = 1 << 20;
  // Origins whose browser pages may call the API (CORS), e.g. {"https://app.example.com",
  // "https://staging.example.com"}, or {"*"} for any; empty sends no CORS headers.
  std::vector<std::string> cors_origins;
};

class GatewayHttpServer {
 public:
  // Serves `gateway` (outliving the server). `openapi_json` is GET /v1/openapi.json; `ready`
  // decides GET /readyz (OK: 200) besides this server not shutting down. With `registry`
  // (optional, outliving the server) the requests are counted and timed there. INVALID_ARGUMENT
  // "<option> must ..." for an option out of range.
  static absl::StatusOr<std::unique_ptr<GatewayHttpServer>> Create(
      const SessionGateway& gateway, std::string openapi_json, std::function<absl::Status()> ready,
      GatewayHttpOptions options, metrics::Registry* registry = nullptr);

  // Binds host:port (0: a free port) and returns the port.
  absl::StatusOr<int> Bind(const std::string& host, int port);
  // Serves on the calling thread until Shutdown().
  void Serve();
  // Stops accepting; requests in flight finish (each bounded by the gateway's call timeout), and
  // a kept-alive connection's last reply tells its client to reconnect.
  void Shutdown();

  // False once Shutdown() began: GET /healthz answers 503.
  bool serving() const { return !stopping_; }
  // OK while serving and `ready` says so.
  absl::Status Ready() const;

 private:
  struct Metrics {
    metrics::Family<metrics::Counter>* requests = nullptr;
    metrics::Family<metrics::Histogram>* request_seconds = nullptr;
    metrics::Histogram* queue_seconds = nullptr;
    metrics::Gauge* threads_held = nullptr;
  };

  GatewayHttpServer(const SessionGateway& gateway, std::string openapi_json,
                    std::function<absl::Status()> ready, GatewayHttpOptions options,
                    Metrics metrics);
  void AddRoutes();
  void AddCorsPreflights();
  void SetErrorHandler();
  // Runs `answer` for an API request and sends its reply, with the request's id, refusal after
  // too long a wait for a thread, metrics by method and a log line.
  void ServeApi(const std::string& rpc, const httplib::Request& request,
                httplib::Response& response,
                const std::function<HttpReply(const std::string& request_id)>& answer) const;
  // Counts an answered request under `label` (an API method, or "unknown") and logs it as
  // `method` ("Rate", or "GET /a/path" for what the HTTP layer answered); `took` when timed.
  void Record(const std::string& label, const std::string& method, const httplib::Request& request,
              int status, std::optional<absl::Duration> took, absl::Duration queue_wait,
              const std::string& request_id) const;

  const SessionGateway& gateway_;
  const std::string openapi_json_;
  const std::function<absl::Status()> ready_;
  const GatewayHttpOptions options_;
  const Metrics metrics_;
  const std::vector<std::string> api_methods_;  // Sorted.
  ThreadOccupancy occupancy_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> serve_running_{false};  // Within Serve().
  BoundedHttpServer http_;
};

}  // namespace dd
