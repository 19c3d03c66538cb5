#include "services/gateway/http_server.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/text/quoted.h"
#include "services/shared/http_encoding.h"
#include "services/shared/listen_socket.h"
#include "services/shared/request_id.h"

namespace dd {
namespace {

// What a log line keeps of text a client chose (a path, X-Forwarded-For, which grows by a hop per
// proxy): enough to read, not a way to fill the logs.
constexpr size_t kMaxClientTextLogged = 256;

// Whether a Range header (cpp-httplib's pairs, -1 for a missing bound) can be answered from a
// body of `size` bytes: no ranges, or one that starts within it (RFC 9110; otherwise 416).
bool RangesFit(const httplib::Ranges& ranges, size_t size) {
  if (ranges.empty()) return true;
  for (const auto& [first, last] : ranges) {
    if (first < 0 ? last > 0 && size > 0 : static_cast<size_t>(first) < size) return true;
  }
  return false;
}

// Most ranges one request may ask for; more are answered with the whole body.
constexpr size_t kMaxRanges = 16;

// Whether the ranges asked (within a body of `size` bytes, which they fit: RangesFit) are worth
// a multipart reply rather than the whole body. cpp-httplib builds the reply in memory, one part
// per range: "bytes=0-,0-,..." 500 times made a 397 MB reply of an 800 KB loop and the gateway
// held 414 MB (its pod's limit is 512 MiB). RFC 9110 (14.2) lets a server ignore a Range that
// looks like an attack; here one that asks for more than the body, or for many parts.
bool RangesWorthAPartialReply(const httplib::Ranges& ranges, size_t size) {
  if (ranges.size() > kMaxRanges) return false;
  size_t asked = 0;
  for (const auto& [first, last] : ranges) {
    // cpp-httplib's pairs: -1 for a missing bound; "bytes=-N" is the last N bytes.
    const size_t begin =
        first >= 0 ? static_cast<size_t>(first)
                   : size - std::min(size, static_cast<size_t>(std::max<ssize_t>(last, 0)));
    const size_t end =
        first >= 0 && last >= 0 ? std::min(size, static_cast<size_t>(last) + 1) : size;
    if (end > begin) asked += end - begin;
  }
  return asked <= size;
}

void Reply(httplib::Response& response, const HttpReply& reply) {
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
    case 431:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 416:
      return grpc::StatusCode::OUT_OF_RANGE;
    case 400:
    case 415:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case 501:
      return grpc::StatusCode::UNIMPLEMENTED;
    case 408:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    default:
      return grpc::StatusCode::UNKNOWN;
  }
}

// The methods a path of this gateway answers, for a 405's Allow header; empty for a path it
// does not serve at all (a 404).
std::string AllowedMethods(const std::string& path, bool cors,
                           const std::vector<std::string>& served_methods) {
  static const std::string kServicePath = "/v1/SessionService/";
  if (absl::StartsWith(path, kServicePath)) {
    // A method this gateway does not serve has no route under any HTTP method.
    if (!absl::c_linear_search(served_methods, path.substr(kServicePath.size()))) return "";
    return cors ? "POST, OPTIONS" : "POST";
  }
  if (absl::StartsWith(path, "/v1/loops/") && absl::EndsWith(path, "/audio"))
    return cors ? "GET, HEAD, OPTIONS" : "GET, HEAD";
  if (path == "/v1/openapi.json" || path == "/healthz" || path == "/readyz") return "GET, HEAD";
  return "";
}

// The reply to a request that waited longer than --max_queue_wait for a thread.
HttpReply Overloaded(absl::Duration waited, absl::Duration limit) {
  return {503, ErrorJson(grpc::StatusCode::UNAVAILABLE,
                         absl::StrCat("dd-gateway is overloaded: the request waited ",
                                      absl::FormatDuration(waited),
                                      " for a free thread (--max_queue_wait=",
                                      absl::FormatDuration(limit), "); retry later"))};
}

// The request's id: the client's when usable, a new one otherwise.
std::string RequestIdOf(const httplib::Request& request) {
  std::string request_id = request.get_header_value("X-Request-Id");
  return IsUsableRequestId(request_id) ? request_id : NewRequestId();
}

// The message of an error the HTTP layer found itself (no route, body too large, ...).
std::string HttpErrorMessage(const httplib::Request& request, const httplib::Response& response) {
  switch (response.status) {
    case 413:
      return "the request body is larger than --max_body_bytes";
    case 404:
      return absl::StrCat("no route for ", request.method, " ", Quoted(request.path));
    case 405:
      return absl::StrCat(request.path, " takes ", response.get_header_value("Allow"), ", not ",
                          request.method);
    case 416:  // The HTTP layer could not parse a Range header, whatever the route.
      return absl::StrCat("the Range header ", Quoted(request.get_header_value("Range")),
                          " is not understood; only byte ranges are (bytes=0-1023)");
    case 400:  // The HTTP layer could not read the request, most often its body.
      return "the request could not be read: its body was cut short or its chunks are "
             "malformed (a POST sends its JSON body with a Content-Length header or in chunks)";
    default:
      return absl::StrCat("HTTP ", response.status);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayHttpServer>> GatewayHttpServer::Create(
    const SessionGateway& gateway, std::string openapi_json, std::function<absl::Status()> ready,
    GatewayHttpOptions options, metrics::Registry* registry) {
  if (options.threads < 1 || options.threads > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be in [1, 1024], got ", options.threads));
  }
  if (options.max_queue_wait <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("max_queue_wait must be positive, got ",
                                                   absl::FormatDuration(options.max_queue_wait)));
  }
  if (options.max_body_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_body_bytes must be at least 1024, got ", options.max_body_bytes));
  }
  Metrics metrics;
  if (registry != nullptr) {
    // Method names outside the API share one label, so that made-up paths cannot grow them.
    auto requests = registry->AddCounter("gateway_http_requests_total",
                                         "API requests answered, by method and HTTP status.",
                                         {"rpc", "status"});
    auto request_seconds = registry->AddHistogram(
        "gateway_http_request_seconds", "Time to answer an API request, in seconds.", {"rpc"},
        {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120});
    auto queue_seconds = registry->AddHistogram(
        "gateway_http_queue_wait_seconds",
        "Time API requests waited for a free thread, in seconds (see --max_queue_wait).", {},
        {0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60});
    auto threads_held = registry->AddGauge(
        "gateway_http_threads_held",
        "HTTP threads holding a connection, kept-alive idle ones included (of --threads).", {});
    for (const absl::Status& added : {requests.status(), request_seconds.status(),
                                      queue_seconds.status(), threads_held.status()}) {
      if (!added.ok()) return added;
    }
    metrics = {.requests = *requests,
               .request_seconds = *request_seconds,
               .queue_seconds = &(*queue_seconds)->WithLabels({}),
               .threads_held = &(*threads_held)->WithLabels({})};
  }
  std::unique_ptr<GatewayHttpServer> server(new GatewayHttpServer(
      gateway, std::move(openapi_json), std::move(ready), std::move(options), metrics));
  server->AddRoutes();
  return server;
}

GatewayHttpServer::GatewayHttpServer(const SessionGateway& gateway, std::string openapi_json,
                                     std::function<absl::Status()> ready,
                                     GatewayHttpOptions options, Metrics metrics)
    : gateway_(gateway),
      openapi_json_(std::move(openapi_json)),
      ready_(std::move(ready)),
      options_(std::move(options)),
      metrics_(metrics),
      api_methods_(gateway.Methods()),
      occupancy_(options_.threads, metrics_.threads_held),
      http_(HttpLimits{.max_body_bytes = options_.max_body_bytes}) {}

absl::Status GatewayHttpServer::Ready() const {
  if (stopping_) return absl::UnavailableError("shutting down");
  return ready_ ? ready_() : absl::OkStatus();
}

absl::StatusOr<int> GatewayHttpServer::Bind(const std::string& host, int port) {
  const int bound =
      port == 0 ? http_.bind_to_any_port(host) : (http_.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return CannotListen("listen", host, port);
  return bound;
}

void GatewayHttpServer::Serve() {
  serve_running_ = true;
  if (!stopping_) http_.listen_after_bind();
  serve_running_ = false;
}

void GatewayHttpServer::Shutdown() {
  stopping_ = true;
  // cpp-httplib's stop() does nothing to a server that has not started listening, which would
  // then listen for ever: wait until a Serve() under way listens, or sees stopping_ and returns.
  while (serve_running_ && !http_.is_running())
    std::this_thread::yield();
  http_.stop();
}

void GatewayHttpServer::ServeApi(
    const std::string& rpc, const httplib::Request& request, httplib::Response& response,
    const std::function<HttpReply(const std::string& request_id)>& answer) const {
  const absl::Time start = absl::Now();
  const absl::Duration queue_wait = TakeQueueWait();
  const std::string request_id = RequestIdOf(request);
  const HttpReply reply = queue_wait > options_.max_queue_wait
                              ? Overloaded(queue_wait, options_.max_queue_wait)
                              : answer(request_id);
  Reply(response, reply);
  if (reply.status == 503) response.set_header("Retry-After", "1");
  response.set_header("X-Request-Id", request_id);
  const bool known =
      rpc == "StreamLoopAudio" || std::binary_search(api_methods_.begin(), api_methods_.end(), rpc);
  Record(known ? rpc : "unknown", rpc, request, reply.status, absl::Now() - start, queue_wait,
         request_id);
}

void GatewayHttpServer::Record(const std::string& label, const std::string& method,
                               const httplib::Request& request, int status,
                               std::optional<absl::Duration> took, absl::Duration queue_wait,
                               const std::string& request_id) const {
  if (metrics_.requests != nullptr) {
    metrics_.requests->WithLabels({label, absl::StrCat(status)}).Increment();
    if (took) metrics_.request_seconds->WithLabels({label}).Observe(absl::ToDoubleSeconds(*took));
    metrics_.queue_seconds->Observe(absl::ToDoubleSeconds(queue_wait));
  }
  // Who asked: the connection's peer (the ingress, behind one) and the client it names.
  std::vector<log::Field> fields = {
      {"method", method},
      {"status", status},
      {"queued_ms", absl::ToDoubleMilliseconds(queue_wait)},
      {"request_id", request_id},
      {"peer", absl::StrCat(request.remote_addr, ":", request.remote_port)}};
  if (took) fields.emplace_back("ms", absl::ToDoubleMilliseconds(*took));
  if (const std::string forwarded = request.get_header_value("X-Forwarded-For");
      !forwarded.empty()) {
    fields.emplace_back("forwarded_for", forwarded.substr(0, kMaxClientTextLogged));
  }
  log::Emit(log::Level::kInfo, "http.request", fields);
}

void GatewayHttpServer::AddRoutes() {
  http_.new_task_queue = [this] { return new TimedTaskQueue(occupancy_); };
  // A kept-alive connection holds its thread while idle (see timed_task_queue.h): reuse is
  // allowed for many requests, but only while enough threads stay free for new clients.
  http_.set_keep_alive_max_count(1000);
  // Once shutting down, a request on a kept-alive connection is still answered, and told to
  // reconnect (to another replica) for the next.
  // It runs for every reply, errors included, so it also names the caller's origin for CORS
  // when it is allowed ("*" goes in the default headers instead).
  const bool name_origin_per_request =
      !options_.cors_origins.empty() && !absl::c_linear_search(options_.cors_origins, "*");
  http_.set_post_routing_handler([this, name_origin_per_request](const httplib::Request& request,
                                                                 httplib::Response& response) {
    if (stopping_ || !occupancy_.MayKeepAlive()) response.set_header("Connection", "close");
    // Browsers take a reply for what its Content-Type says, never for what its bytes look like
    // (a JSON error echoing a client's text is not run as HTML).
    response.set_header("X-Content-Type-Options", "nosniff");
    // Every reply carries a request id (probes and preflights too), not only the API's.
    if (!response.has_header("X-Request-Id")) {
      response.set_header("X-Request-Id", RequestIdOf(request));
    }
    if (name_origin_per_request) {
      const std::string origin = request.get_header_value("Origin");
      if (absl::c_linear_search(options_.cors_origins, origin)) {
        response.set_header("Access-Control-Allow-Origin", origin);
      }
    }
  });
  BindPortsExclusively(http_);
  if (!options_.cors_origins.empty()) AddCorsPreflights();

  http_.Post(R"(/v1/SessionService/([A-Za-z]+))", [this](const httplib::Request& request,
                                                         httplib::Response& response) {
    const std::string method = request.matches[1].str();
    ServeApi(method, request, response, [&](const std::string& request_id) {
      // Chunks are counted with their framing as they arrive; the body they make
      // is held to the limit here.
      if (static_cast<int64_t>(request.body.size()) > options_.max_body_bytes) {
        return HttpReply{413, ErrorJson(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                        absl::StrCat("the request body is larger than ",
                                                     options_.max_body_bytes, " bytes"))};
      }
      return gateway_.Call(method, request.body, request_id);
    });
  });
  // A loop's audio by reference, for <audio src> and media players: the bytes never change.
  http_.Get(R"(/v1/loops/([0-9A-Za-z-]+)/audio)", [this](const httplib::Request& request,
                                                         httplib::Response& response) {
    size_t audio_bytes = 0;
    ServeApi("StreamLoopAudio", request, response, [&](const std::string& request_id) {
      HttpReply reply =
          gateway_.LoopAudio(request.matches[1].str(), request.get_param_value("format"),
                             request.get_param_value("userId"), request_id);
      audio_bytes = reply.body.size();
      if (reply.status != 200 || RangesFit(request.ranges, audio_bytes)) return reply;
      return HttpReply{
          416,
          ErrorJson(grpc::StatusCode::OUT_OF_RANGE,
                    absl::StrCat("the Range header ", Quoted(request.get_header_value("Range")),
                                 " asks for none of the audio's ", audio_bytes, " bytes"))};
    });
    if (response.status == 416)
      response.set_header("Content-Range", absl::StrCat("bytes */", audio_bytes));
    if (response.status == 200) {
      response.set_header("Cache-Control", "private, max-age=86400, immutable");
      response.set_header("Accept-Ranges", "bytes");  // Players may seek by range.
      if (!RangesWorthAPartialReply(request.ranges, audio_bytes)) {
        // The const_cast as in the error handler: cpp-httplib cuts the reply by the request's
        // ranges after this handler, and an empty list sends the whole body.
        const_cast<httplib::Request&>(request).ranges.clear();
      }
      // cpp-httplib sends only the asked bytes of a Range request but keeps the status a
      // handler set; a player (Safari's asks for bytes 0-1 first) needs 206 to see a part of
      // the file, not a whole file of two bytes.
      if (!request.ranges.empty()) response.status = 206;
    }
  });
  http_.Get("/v1/openapi.json", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(openapi_json_, "application/json");
  });
  // Alive while the process serves; ready while dd-session answers SERVING.
  http_.Get("/healthz", [this](const httplib::Request&, httplib::Response& response) {
    Reply(response, stopping_ ? HttpReply{503, R"({"status":"STOPPING"})"}
                              : HttpReply{200, R"({"status":"SERVING"})"});
  });
  http_.Get("/readyz", [this](const httplib::Request&, httplib::Response& response) {
    const absl::Status status = Ready();
    Reply(response, status.ok() ? HttpReply{200, R"({"status":"SERVING"})"}
                                : HttpReply{503, ErrorJson(grpc::StatusCode::UNAVAILABLE,
                                                           std::string(status.message()))});
  });
  SetErrorHandler();
}

void GatewayHttpServer::AddCorsPreflights() {
  // Browser code may read X-Request-Id, the id to quote when reporting a failed request.
  // A reply names one origin at most (or "*"): with several allowed, the caller's is named per
  // request (see the post-routing handler), and caches keep replies apart by Origin.
  httplib::Headers headers = {{"Access-Control-Expose-Headers", "X-Request-Id"},
                              {"Vary", "Origin"}};
  if (absl::c_linear_search(options_.cors_origins, "*")) {
    headers.emplace("Access-Control-Allow-Origin", "*");
  }
  http_.set_default_headers(std::move(headers));
  // The browser's preflight before a JSON POST from another origin, and before a fetch() of a
  // loop's audio that sends an X-Request-Id or a Range a browser does not count as simple.
  const auto preflight = [](const char* methods, const char* headers) {
    return [methods, headers](const httplib::Request&, httplib::Response& response) {
      response.set_header("Access-Control-Allow-Methods", methods);
      response.set_header("Access-Control-Allow-Headers", headers);
      response.set_header("Access-Control-Max-Age", "600");
      response.status = 204;
    };
  };
  http_.Options(R"(/v1/SessionService/([A-Za-z]+))",
                preflight("POST", "Content-Type, X-Request-Id"));
  http_.Options(R"(/v1/loops/([0-9A-Za-z-]+)/audio)", preflight("GET", "Range, X-Request-Id"));
}

void GatewayHttpServer::SetErrorHandler() {
  const bool cors = !options_.cors_origins.empty();
  http_.set_error_handler(
      [this, cors](const httplib::Request& request, httplib::Response& response) {
        // cpp-httplib cuts every reply to the bytes a Range header asks for, error replies too (a
        // media player that asked for bytes 0-1 of a missing loop got '{"'). A Range asks for part
        // of the audio, never of an error, so errors go out whole. The request is the server's own
        // non-const object, and this handler runs before the ranges are applied.
        const_cast<httplib::Request&>(request).ranges.clear();
        if (!response.body.empty()) return;
        // A request past a limit of the HTTP layer (bounded_http_server.h) is answered with that
        // limit, whatever cpp-httplib made of it (a chunked body cut short reads as a 400).
        const std::optional<HttpRefusal> refusal = BoundedHttpServer::ApplyRefusal(response);
        // A path served under another method: 405 and the methods it takes, not "no route".
        if (const std::string allowed = AllowedMethods(request.path, cors, gateway_.Methods());
            response.status == 404 && !allowed.empty() &&
            !absl::c_linear_search(absl::StrSplit(allowed, ", "), request.method)) {
          response.status = 405;
          response.set_header("Allow", allowed);
        }
        response.set_content(
            ErrorJson(CodeForHttpError(response.status),
                      refusal ? refusal->message : HttpErrorMessage(request, response)),
            "application/json");
        // Answered by the HTTP layer, so no API method's: an id, a count and a log line all the
        // same.
        const std::string request_id = RequestIdOf(request);
        response.set_header("X-Request-Id", request_id);
        Record("unknown",
               absl::StrCat(request.method, " ", request.path.substr(0, kMaxClientTextLogged)),
               request, response.status, std::nullopt, TakeQueueWait(), request_id);
      });
}

}  // namespace dd
