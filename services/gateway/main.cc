// dd-gateway: HTTP/JSON for web and mobile clients, in front of dd-session (SessionGateway).
// Stateless; run as many as needed behind any HTTP load balancer.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include <httplib.h>

#include <grpcpp/client_context.h>

#include "absl/algorithm/container.h"
#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/build_info/build_info.h"
#include "common/log/log.h"
#include "common/metrics/registry.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/gateway/api_descriptor_set.h"
#include "services/gateway/openapi.h"
#include "services/gateway/session_gateway.h"
#include "services/gateway/timed_task_queue.h"
#include "services/shared/client_channel.h"
#include "services/shared/flag_checks.h"
#include "services/shared/metrics_endpoint.h"
#include "services/shared/request_id.h"
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
ABSL_FLAG(std::string, cors_origin, "",
          "Origin whose browser pages may call the API (CORS), e.g. https://app.example.com, or "
          "* for any; empty sends no CORS headers (same-origin use, or apps that are not "
          "browsers).");

namespace {
namespace v1 = deepdrummer::v1;

// Whether a Range header (cpp-httplib's pairs, -1 for a missing bound) can be answered from a
// body of `size` bytes: no ranges, or one that starts within it (RFC 9110; otherwise 416).
bool RangesFit(const httplib::Ranges& ranges, size_t size) {
  if (ranges.empty()) return true;
  for (const auto& [first, last] : ranges) {
    if (first < 0 ? last > 0 && size > 0 : static_cast<size_t>(first) < size) return true;
  }
  return false;
}

void Reply(httplib::Response& response, const dd::HttpReply& reply) {
  response.status = reply.status;
  response.set_content(reply.body, reply.content_type.c_str());
}

// The gRPC code an HTTP error status stands for, for errors the HTTP layer finds itself.
grpc::StatusCode CodeForHttpError(int status) {
  switch (status) {
    case 404:
      return grpc::StatusCode::NOT_FOUND;
    case 405:
      return grpc::StatusCode::UNIMPLEMENTED;
    case 413:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 416:
      return grpc::StatusCode::OUT_OF_RANGE;
    case 400:
      return grpc::StatusCode::INVALID_ARGUMENT;
    default:
      return grpc::StatusCode::UNKNOWN;
  }
}

// The methods a path of this gateway answers, for a 405's Allow header; empty for a path it
// does not serve at all (a 404).
std::string AllowedMethods(const std::string& path, bool cors) {
  if (absl::StartsWith(path, "/v1/SessionService/")) return cors ? "POST, OPTIONS" : "POST";
  if (absl::StartsWith(path, "/v1/loops/") && absl::EndsWith(path, "/audio"))
    return cors ? "GET, HEAD, OPTIONS" : "GET, HEAD";
  if (path == "/v1/openapi.json" || path == "/healthz" || path == "/readyz") return "GET, HEAD";
  return "";
}

// The reply to a request that waited longer than --max_queue_wait for a thread.
dd::HttpReply Overloaded(absl::Duration waited, absl::Duration limit) {
  return {503, dd::ErrorJson(grpc::StatusCode::UNAVAILABLE,
                             absl::StrCat("dd-gateway is overloaded: the request waited ",
                                          absl::FormatDuration(waited),
                                          " for a free thread (--max_queue_wait=",
                                          absl::FormatDuration(limit), "); retry later"))};
}

}  // namespace

int main(int argc, char** argv) {
  dd::InitService(argc, argv, "gateway",
                  "HTTP/JSON in front of dd-session, for web and mobile clients.\n"
                  "POST /v1/SessionService/<Method> with the request as proto3 JSON; GET /healthz, "
                  "GET /readyz.\nUsage: dd-gateway --port=8080 --session=127.0.0.1:50054");
  const int threads = absl::GetFlag(FLAGS_threads);
  const int64_t max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  const absl::Duration max_queue_wait = absl::GetFlag(FLAGS_max_queue_wait);
  dd::SessionGatewayOptions options;
  options.call_timeout = absl::GetFlag(FLAGS_call_timeout);
  if (max_body_bytes < 1024) {
    return dd::StartupFailed(
        absl::StrCat("--max_body_bytes must be at least 1024, got ", max_body_bytes));
  }
  if (absl::Status s =
          dd::FirstError({dd::CheckTargetFlag("session", absl::GetFlag(FLAGS_session)),
                          dd::CheckIntFlag("threads", threads, 1, 1024),
                          dd::CheckPositiveDurationFlag("call_timeout", options.call_timeout),
                          dd::CheckPositiveDurationFlag("max_queue_wait", max_queue_wait)});
      !s.ok()) {
    return dd::StartupFailed(s);
  }
  const dd::GrpcServerOptions listen = dd::ServerOptionsFromFlags();
  if (!listen.tls.client_ca_file.empty()) {
    // The gateway serves plain HTTP (TLS ends at the ingress); the flag would protect nothing.
    return dd::StartupFailed(absl::InvalidArgumentError(
        "--tls_client_ca_file does not apply to dd-gateway, which serves plain HTTP behind "
        "the ingress; --tls_ca_file, --tls_cert_file and --tls_key_file secure its calls to "
        "dd-session"));
  }
  auto channel_options = dd::ClientChannelOptionsFromFlags();
  if (!channel_options.ok()) return dd::StartupFailed(channel_options.status());
  // Inline audio and exports come back in replies.
  channel_options->max_receive_message_bytes = listen.max_receive_message_bytes;
  auto channel = dd::ClientChannel(absl::GetFlag(FLAGS_session), *channel_options);
  auto session = v1::SessionService::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);
  const dd::SessionGateway gateway(*session, options);
  std::atomic<bool> stopping{false};
  // Ready while dd-session answers SERVING and this gateway is not shutting down.
  const auto ready = [&health, &stopping]() -> absl::Status {
    if (stopping) return absl::UnavailableError("shutting down");
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

  // With --metrics_port: API calls by method and HTTP status, and their durations. Method names
  // outside the API share one label, so that made-up paths cannot grow the metrics.
  std::unique_ptr<dd::metrics::Registry> metrics;
  dd::metrics::Family<dd::metrics::Counter>* requests = nullptr;
  dd::metrics::Family<dd::metrics::Histogram>* request_seconds = nullptr;
  dd::metrics::Histogram* queue_seconds = nullptr;
  dd::metrics::Gauge* threads_held = nullptr;
  std::unique_ptr<dd::MetricsEndpoint> metrics_endpoint;
  const std::vector<std::string> api_methods = gateway.Methods();
  // The API described for client generators, made once from the protos built into the binary.
  auto openapi = dd::SessionApiOpenApi(dd::SessionApiDescriptorSet(), api_methods);
  if (!openapi.ok()) return dd::StartupFailed(openapi.status());
  if (listen.metrics_port >= 0) {
    metrics = std::make_unique<dd::metrics::Registry>();
    auto counted =
        metrics->AddCounter("gateway_http_requests_total",
                            "API requests answered, by method and HTTP status.", {"rpc", "status"});
    auto timed = metrics->AddHistogram(
        "gateway_http_request_seconds", "Time to answer an API request, in seconds.", {"rpc"},
        {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120});
    auto queued = metrics->AddHistogram(
        "gateway_http_queue_wait_seconds",
        "Time API requests waited for a free thread, in seconds (see --max_queue_wait).", {},
        {0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60});
    auto held = metrics->AddGauge(
        "gateway_http_threads_held",
        "HTTP threads holding a connection, kept-alive idle ones included (of --threads).", {});
    for (const absl::Status& added : {counted.status(), timed.status(), queued.status(),
                                      held.status(), dd::AddBuildInfoGauge(*metrics)}) {
      if (!added.ok()) return dd::StartupFailed(added);
    }
    threads_held = &(*held)->WithLabels({});
    requests = *counted;
    request_seconds = *timed;
    queue_seconds = &(*queued)->WithLabels({});
    // The probes here too: the main port's wait behind API calls when every thread is busy.
    auto endpoint =
        dd::MetricsEndpoint::Start(listen.host, listen.metrics_port, *metrics,
                                   {.serving = [&stopping] { return !stopping; }, .ready = ready});
    if (!endpoint.ok()) return dd::StartupFailed(endpoint.status());
    metrics_endpoint = *std::move(endpoint);
  }

  httplib::Server http;
  dd::ThreadOccupancy occupancy(threads, threads_held);
  http.new_task_queue = [&occupancy] { return new dd::TimedTaskQueue(occupancy); };
  // A kept-alive connection holds its thread while idle (see timed_task_queue.h): reuse is
  // allowed for many requests, but only while enough threads stay free for new clients.
  http.set_keep_alive_max_count(1000);
  // Once shutting down, a request on a kept-alive connection is still answered, and told to
  // reconnect (to another replica) for the next.
  http.set_post_routing_handler(
      [&occupancy, &stopping](const httplib::Request&, httplib::Response& response) {
        if (stopping || !occupancy.MayKeepAlive()) response.set_header("Connection", "close");
      });
  http.set_payload_max_length(static_cast<size_t>(max_body_bytes));
  const std::string cors_origin = absl::GetFlag(FLAGS_cors_origin);
  const bool cors = !cors_origin.empty();
  if (cors) {
    // Browser code may read X-Request-Id, the id to quote when reporting a failed request.
    http.set_default_headers({{"Access-Control-Allow-Origin", cors_origin},
                              {"Access-Control-Expose-Headers", "X-Request-Id"},
                              {"Vary", "Origin"}});
    // The browser's preflight before a JSON POST from another origin, and before a fetch() of
    // a loop's audio that sends an X-Request-Id or a Range a browser does not count as simple.
    const auto preflight = [](const char* methods, const char* headers) {
      return [methods, headers](const httplib::Request&, httplib::Response& response) {
        response.set_header("Access-Control-Allow-Methods", methods);
        response.set_header("Access-Control-Allow-Headers", headers);
        response.set_header("Access-Control-Max-Age", "600");
        response.status = 204;
      };
    };
    http.Options(R"(/v1/SessionService/([A-Za-z]+))",
                 preflight("POST", "Content-Type, X-Request-Id"));
    http.Options(R"(/v1/loops/([0-9A-Za-z-]+)/audio)", preflight("GET", "Range, X-Request-Id"));
  }
  // Around every API request: its id (the client's if usable), refusal after too long a wait
  // for a thread, metrics by method (names outside the API counted as "unknown") and a log line.
  const auto serve_api = [&](const std::string& rpc, const httplib::Request& request,
                             httplib::Response& response,
                             const std::function<dd::HttpReply(const std::string&)>& answer) {
    const absl::Time start = absl::Now();
    const absl::Duration queue_wait = dd::TakeQueueWait();
    std::string request_id = request.get_header_value("X-Request-Id");
    if (!dd::IsUsableRequestId(request_id)) request_id = dd::NewRequestId();
    const dd::HttpReply reply =
        queue_wait > max_queue_wait ? Overloaded(queue_wait, max_queue_wait) : answer(request_id);
    Reply(response, reply);
    if (reply.status == 503) response.set_header("Retry-After", "1");
    response.set_header("X-Request-Id", request_id);
    const absl::Duration took = absl::Now() - start;
    if (requests != nullptr) {
      const bool known = rpc == "StreamLoopAudio" ||
                         std::binary_search(api_methods.begin(), api_methods.end(), rpc);
      const std::string label = known ? rpc : "unknown";
      requests->WithLabels({label, absl::StrCat(reply.status)}).Increment();
      request_seconds->WithLabels({label}).Observe(absl::ToDoubleSeconds(took));
      queue_seconds->Observe(absl::ToDoubleSeconds(queue_wait));
    }
    dd::log::Info("http.request", {{"method", rpc},
                                   {"status", reply.status},
                                   {"ms", absl::ToDoubleMilliseconds(took)},
                                   {"queued_ms", absl::ToDoubleMilliseconds(queue_wait)},
                                   {"request_id", request_id}});
  };
  http.Post(R"(/v1/SessionService/([A-Za-z]+))",
            [&](const httplib::Request& request, httplib::Response& response) {
              const std::string method = request.matches[1].str();
              serve_api(method, request, response, [&](const std::string& request_id) {
                return gateway.Call(method, request.body, request_id);
              });
            });
  // A loop's audio by reference, for <audio src> and media players: the bytes never change.
  http.Get(R"(/v1/loops/([0-9A-Za-z-]+)/audio)", [&](const httplib::Request& request,
                                                     httplib::Response& response) {
    size_t audio_bytes = 0;
    serve_api("StreamLoopAudio", request, response, [&](const std::string& request_id) {
      dd::HttpReply reply =
          gateway.LoopAudio(request.matches[1].str(), request.get_param_value("format"),
                            request.get_param_value("userId"), request_id);
      audio_bytes = reply.body.size();
      if (reply.status != 200 || RangesFit(request.ranges, audio_bytes)) return reply;
      return dd::HttpReply{
          416,
          dd::ErrorJson(grpc::StatusCode::OUT_OF_RANGE,
                        absl::StrCat("the Range header '", request.get_header_value("Range"),
                                     "' asks for none of the audio's ", audio_bytes, " bytes"))};
    });
    if (response.status == 416)
      response.set_header("Content-Range", absl::StrCat("bytes */", audio_bytes));
    if (response.status == 200) {
      response.set_header("Cache-Control", "private, max-age=86400, immutable");
      response.set_header("Accept-Ranges", "bytes");  // Players may seek by range.
      // cpp-httplib sends only the asked bytes of a Range request but keeps the status
      // a handler set; a player (Safari's asks for bytes 0-1 first) needs 206 to see
      // a part of the file, not a whole file of two bytes.
      if (!request.ranges.empty()) response.status = 206;
    }
  });
  http.Get("/v1/openapi.json", [&openapi](const httplib::Request&, httplib::Response& response) {
    response.set_content(*openapi, "application/json");
  });
  // Alive while the process serves; ready while dd-session answers SERVING.
  http.Get("/healthz", [&stopping](const httplib::Request&, httplib::Response& response) {
    Reply(response, stopping ? dd::HttpReply{503, R"({"status":"STOPPING"})"}
                             : dd::HttpReply{200, R"({"status":"SERVING"})"});
  });
  http.Get("/readyz", [&ready](const httplib::Request&, httplib::Response& response) {
    const absl::Status status = ready();
    Reply(response, status.ok() ? dd::HttpReply{200, R"({"status":"SERVING"})"}
                                : dd::HttpReply{503, dd::ErrorJson(grpc::StatusCode::UNAVAILABLE,
                                                                   std::string(status.message()))});
  });
  // Errors the HTTP layer finds (no such route, body too large) in the same JSON form.
  http.set_error_handler([cors](const httplib::Request& request, httplib::Response& response) {
    // cpp-httplib cuts every reply to the bytes a Range header asks for, error replies too (a
    // media player that asked for bytes 0-1 of a missing loop got '{"'). A Range asks for part
    // of the audio, never of an error, so errors go out whole. The request is the server's own
    // non-const object, and this handler runs before the ranges are applied.
    const_cast<httplib::Request&>(request).ranges.clear();
    if (!response.body.empty()) return;
    // A path served under another method: 405 and the methods it takes, not "no route".
    if (const std::string allowed = AllowedMethods(request.path, cors);
        response.status == 404 && !allowed.empty() &&
        !absl::c_linear_search(absl::StrSplit(allowed, ", "), request.method)) {
      response.status = 405;
      response.set_header("Allow", allowed);
    }
    std::string message;
    switch (response.status) {
      case 413:
        message = "the request body is larger than --max_body_bytes";
        break;
      case 404:
        message = absl::StrCat("no route for ", request.method, " ", request.path);
        break;
      case 405:
        message = absl::StrCat(request.path, " takes ", response.get_header_value("Allow"),
                               ", not ", request.method);
        break;
      case 416:  // The HTTP layer could not parse a Range header, whatever the route.
        message = absl::StrCat("the Range header '", request.get_header_value("Range"),
                               "' is not understood; only byte ranges are (bytes=0-1023)");
        break;
      case 400:  // The HTTP layer could not read the request, most often its body.
        message =
            "the request could not be read: a POST sends its JSON body with a Content-Length "
            "header or in chunks (an empty body too: Content-Length: 0)";
        break;
      default:
        message = absl::StrCat("HTTP ", response.status);
    }
    response.set_content(dd::ErrorJson(CodeForHttpError(response.status), message),
                         "application/json");
  });

  int port = listen.port;
  if (port == 0) {
    port = http.bind_to_any_port(listen.host);
  } else if (!http.bind_to_port(listen.host, port)) {
    port = -1;
  }
  if (port <= 0)
    return dd::StartupFailed(absl::StrCat("cannot listen on ", listen.host, ":", listen.port));
  if (!listen.port_file.empty()) {
    if (absl::Status written = dd::WritePortFile(listen.port_file, port); !written.ok())
      return dd::StartupFailed(written);
  }
  std::thread serving([&http] { http.listen_after_bind(); });
  dd::log::Info(
      "server.listening",
      {{"address", absl::StrCat(listen.host, ":", port)},
       {"version", dd::BuildVersion()},
       {"commit", dd::BuildCommit()},
       {"metrics", metrics_endpoint == nullptr ? std::string("none") : metrics_endpoint->Url()},
       {"session", absl::GetFlag(FLAGS_session)},
       {"max_body_bytes", max_body_bytes}});
  const std::string signal = dd::WaitForShutdownSignal();
  dd::log::Info("server.shutdown_requested", {{"signal", signal}});
  // Stops accepting; requests in flight finish (each bounded by --call_timeout).
  stopping = true;
  http.stop();
  serving.join();
  dd::log::Info("server.stopped", {{"address", absl::StrCat(listen.host, ":", port)}});
  return EXIT_SUCCESS;
}
