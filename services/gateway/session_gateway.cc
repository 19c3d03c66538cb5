#include "services/gateway/session_gateway.h"

#include <algorithm>
#include <chrono>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/text/quoted.h"
#include "services/shared/request_id.h"
#include "services/shared/status_mapping.h"

namespace dd {
namespace v1 = deepdrummer::v1;
namespace {

HttpReply Error(grpc::StatusCode code, const std::string& message) {
  return {HttpStatusFor(code), ErrorJson(code, message)};
}

// dd-session's error as the client's: its code and message, named as dd-session's when the
// gateway could not reach it.
HttpReply FromSessionError(const grpc::Status& status) {
  return Error(status.error_code(), status.error_code() == grpc::StatusCode::UNAVAILABLE
                                        ? absl::StrCat("dd-session: ", status.error_message())
                                        : status.error_message());
}

}  // namespace

std::string ErrorJson(grpc::StatusCode code, const std::string& message) {
  // Written out so that "code" always comes first; the message escaped as the logs are, so that
  // the body is valid UTF-8 JSON whatever the message quotes.
  return absl::StrCat("{\"code\":\"", absl::StatusCodeToString(static_cast<absl::StatusCode>(code)),
                      "\",\"message\":", log::JsonString(message), "}");
}

template <typename Request, typename Response>
void SessionGateway::Add(std::string method,
                         grpc::Status (v1::SessionService::StubInterface::*call)(
                             grpc::ClientContext*, const Request&, Response*)) {
  if (!Serves(method)) return;
  handlers_[method] = [this, method, call](const std::string& json_body,
                                           const std::string& request_id) {
    Request request;
    google::protobuf::util::JsonParseOptions parse;
    parse.ignore_unknown_fields = false;  // A misspelt field is an error, not a silent default.
    const auto parsed = google::protobuf::util::JsonStringToMessage(
        json_body.empty() ? "{}" : json_body, &request, parse);
    if (!parsed.ok()) {
      // The parser puts the offending field's path before a colon, an empty path for the root.
      return Error(grpc::StatusCode::INVALID_ARGUMENT,
                   absl::StrCat("the body is not a JSON ", Request::descriptor()->name(), ": ",
                                absl::StripPrefix(parsed.message().as_string(), ": ")));
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
    AttachRequestId(request_id, context);
    Response response;
    const grpc::Status status = (session_.*call)(&context, request, &response);
    if (!status.ok()) return FromSessionError(status);
    google::protobuf::util::JsonPrintOptions print;
    print.always_print_primitive_fields = true;  // Clients see 0, false and "" fields too.
    std::string json;
    const auto printed = google::protobuf::util::MessageToJsonString(response, &json, print);
    if (!printed.ok()) {
      return Error(grpc::StatusCode::INTERNAL,
                   absl::StrCat(method, " reply as JSON: ", printed.message().as_string()));
    }
    return HttpReply{200, std::move(json)};
  };
}

std::string SessionGateway::UnknownMethodHint(const std::string& method) const {
  if (method == "StreamLoopAudio") {
    if (!serves_loop_audio_) return "it streams, and this gateway does not serve loop audio";
    return "it streams, so over HTTP a loop's audio is GET /v1/loops/<audioRef>/audio (NextLoop "
           "with audioDelivery AUDIO_DELIVERY_REFERENCE gives the audioRef)";
  }
  const std::vector<std::string> methods = Methods();
  for (const std::string& name : methods) {
    if (absl::EqualsIgnoreCase(name, method))
      return absl::StrCat("names are case-sensitive: did you mean '", name, "'?");
  }
  return absl::StrCat("the methods are ", absl::StrJoin(methods, ", "));
}

absl::StatusOr<std::unique_ptr<SessionGateway>> SessionGateway::Create(
    v1::SessionService::StubInterface& session, SessionGatewayOptions options) {
  const std::vector<std::string> all = AllMethods();
  for (const std::string& method : options.methods) {
    if (!std::binary_search(all.begin(), all.end(), method)) {
      return absl::InvalidArgumentError(
          absl::StrCat("methods must name SessionService methods served over HTTP (",
                       absl::StrJoin(all, ", "), "), got ", Quoted(method)));
    }
  }
  return std::unique_ptr<SessionGateway>(new SessionGateway(session, std::move(options)));
}

std::vector<std::string> SessionGateway::AllMethods() {
  return {"CreateUser", "DeleteUser",   "ExportSession",  "GetResults",
          "GetSession", "GetUser",      "ListSessions",   "NextLoop",
          "Rate",       "StartSession", "StreamLoopAudio"};
}

SessionGateway::SessionGateway(v1::SessionService::StubInterface& session,
                               SessionGatewayOptions options)
    : session_(session), options_(std::move(options)) {
  using Stub = v1::SessionService::StubInterface;
  Add("CreateUser", &Stub::CreateUser);
  Add("GetUser", &Stub::GetUser);
  Add("DeleteUser", &Stub::DeleteUser);
  Add("StartSession", &Stub::StartSession);
  Add("GetSession", &Stub::GetSession);
  Add("ListSessions", &Stub::ListSessions);
  Add("NextLoop", &Stub::NextLoop);
  Add("Rate", &Stub::Rate);
  Add("GetResults", &Stub::GetResults);
  Add("ExportSession", &Stub::ExportSession);
  serves_loop_audio_ = Serves("StreamLoopAudio");
}

bool SessionGateway::Serves(const std::string& method) const {
  return options_.methods.empty() || absl::c_linear_search(options_.methods, method);
}

HttpReply SessionGateway::Call(const std::string& method, const std::string& json_body,
                               const std::string& request_id) const {
  const auto handler = handlers_.find(method);
  if (handler == handlers_.end()) {
    const std::vector<std::string> all = AllMethods();
    if (method != "StreamLoopAudio" && std::binary_search(all.begin(), all.end(), method)) {
      return Error(grpc::StatusCode::NOT_FOUND, absl::StrCat("this gateway does not serve ", method,
                                                             " (see its --methods); it serves ",
                                                             absl::StrJoin(Methods(), ", ")));
    }
    return Error(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("no method ", Quoted(method), " in SessionService over HTTP; ",
                              UnknownMethodHint(method)));
  }
  return handler->second(json_body, request_id);
}

HttpReply SessionGateway::LoopAudio(const std::string& loop_id, const std::string& format,
                                    const std::string& user_id,
                                    const std::string& request_id) const {
  if (!serves_loop_audio_) {
    return Error(grpc::StatusCode::NOT_FOUND,
                 "this gateway does not serve loop audio (StreamLoopAudio; see its --methods)");
  }
  v1::StreamLoopAudioRequest request;
  request.set_loop_id(loop_id);
  request.set_user_id(user_id);
  if (format.empty()) {
    request.set_format(v1::AUDIO_FORMAT_UNSPECIFIED);  // the session's format
  } else if (format == "wav") {
    request.set_format(v1::AUDIO_FORMAT_WAV);
  } else if (format == "flac") {
    request.set_format(v1::AUDIO_FORMAT_FLAC);
  } else if (format == "ogg") {
    request.set_format(v1::AUDIO_FORMAT_OGG);
  } else {
    return Error(grpc::StatusCode::INVALID_ARGUMENT,
                 absl::StrCat("format must be wav, flac or ogg, got ", Quoted(format)));
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  AttachRequestId(request_id, context);
  auto reader = session_.StreamLoopAudio(&context, request);
  HttpReply reply;
  v1::AudioChunk chunk;
  while (reader->Read(&chunk)) {
    if (!chunk.mime_type().empty()) reply.content_type = chunk.mime_type();
    reply.body += chunk.data();
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return FromSessionError(status);
  return reply;
}

std::vector<std::string> SessionGateway::Methods() const {
  std::vector<std::string> methods;
  for (const auto& [method, handler] : handlers_)
    methods.push_back(method);
  std::sort(methods.begin(), methods.end());
  return methods;
}

}  // namespace dd
