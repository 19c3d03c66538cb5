// HTTP/JSON in front of SessionService, for web and mobile clients. Each unary RPC is
// POST /v1/SessionService/<Method> with the request message as proto3 JSON; the answer is the
// response message as JSON, or {"code": "NOT_FOUND", "message": "..."} with the HTTP status that
// the gRPC code maps to (services/shared/status_mapping.h). A loop's audio is a GET of its own
// (LoopAudio: StreamLoopAudio's chunks as one body). No HTTP server in here: main.cc
// serves this over HTTP, and tests call it directly or through the server.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "deepdrummer/v1/session.grpc.pb.h"

namespace dd {

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

struct SessionGatewayOptions {
  // Deadline of each call to dd-session. NextLoop may wait for a training round (seconds).
  absl::Duration call_timeout = absl::Minutes(2);
  // The SessionService methods served, "StreamLoopAudio" standing for the audio GET; empty
  // serves them all. A gateway open to the internet may leave out DeleteUser and ExportSession,
  // for another one that only the operators' network reaches.
  std::vector<std::string> methods;
};

class SessionGateway {
 public:
  // `session` must outlive the gateway. INVALID_ARGUMENT for a method in options.methods that
  // SessionService lacks or that has no HTTP form.
  static absl::StatusOr<std::unique_ptr<SessionGateway>> Create(
      deepdrummer::v1::SessionService::StubInterface& session, SessionGatewayOptions options);

  // Calls the unary RPC `method` (e.g. "CreateUser") with a JSON request body, and `request_id`
  // as the call's x-request-id (none when empty). Unknown methods are NOT_FOUND (404); a body
  // that is not the request message as JSON is INVALID_ARGUMENT (400) and nothing is sent to
  // dd-session.
  HttpReply Call(const std::string& method, const std::string& json_body,
                 const std::string& request_id = "") const;

  // GET /v1/loops/<loop_id>/audio?format=...&userId=...: the loop's audio (StreamLoopAudio's
  // chunks as one body, with its MIME type), so that a page's <audio src> or a media player can
  // fetch what NextLoop returned by reference (AUDIO_DELIVERY_REFERENCE). `format` is wav (also
  // when empty), flac or ogg; anything else is INVALID_ARGUMENT (400) and reaches no service.
  // Errors are JSON, as for Call.
  HttpReply LoopAudio(const std::string& loop_id, const std::string& format,
                      const std::string& user_id, const std::string& request_id) const;

  // The methods Call serves, sorted.
  std::vector<std::string> Methods() const;
  // Whether LoopAudio serves (StreamLoopAudio is among the methods served).
  bool ServesLoopAudio() const { return serves_loop_audio_; }

  // Every method a gateway can serve, sorted: the unary ones and StreamLoopAudio.
  static std::vector<std::string> AllMethods();

 private:
  SessionGateway(deepdrummer::v1::SessionService::StubInterface& session,
                 SessionGatewayOptions options);

  using Handler =
      std::function<HttpReply(const std::string& json_body, const std::string& request_id)>;
  template <typename Request, typename Response>
  void Add(std::string method, grpc::Status (deepdrummer::v1::SessionService::StubInterface::*call)(
                                   grpc::ClientContext*, const Request&, Response*));

  // Whether options_.methods lets this gateway serve `method`.
  bool Serves(const std::string& method) const;
  // What to try instead of a method Call does not serve.
  std::string UnknownMethodHint(const std::string& method) const;

  deepdrummer::v1::SessionService::StubInterface& session_;
  const SessionGatewayOptions options_;
  absl::flat_hash_map<std::string, Handler> handlers_;  // The methods served.
  bool serves_loop_audio_ = true;
};

// The JSON error body: {"code":"INVALID_ARGUMENT","message":"..."}.
std::string ErrorJson(grpc::StatusCode code, const std::string& message);

}  // namespace dd
