#include "services/shared/explained_status.h"

#include <string>
#include <string_view>
#include <utility>

#include <google/protobuf/descriptor.h>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/text/quoted.h"

namespace dd {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

// gRPC's message for a call its sync server had no thread for (ResourceQuota::SetMaxThreads).
constexpr std::string_view kThreadsTaken = "Server Threadpool Exhausted";
// gRPC's message for a call whose stream ended before a whole request message arrived.
constexpr std::string_view kNoMessage = "Couldn't initialize byte buffer reader";

// The full name of the request message of `method` ("/package.Service/Method"), from the
// descriptors compiled into this binary; empty for a method it does not know.
std::string RequestMessageName(std::string_view method) {
  if (method.size() < 2 || method[0] != '/') return "";
  const std::string dotted =
      absl::StrReplaceAll(absl::string_view(method.data() + 1, method.size() - 1), {{"/", "."}});
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(dotted);
  return descriptor != nullptr ? descriptor->input_type()->full_name() : "";
}

class ExplainedStatus final : public grpc::experimental::Interceptor {
 public:
  ExplainedStatus(const ServerRpcInfo& info, const std::vector<std::string>& served,
                  const ServerLimits& limits)
      : method_(info.method() != nullptr ? info.method() : ""), served_(served), limits_(limits) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    // The server deserialises before this hook and hands on no message when that failed.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      undecodable_ = true;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      // Handlers always say why; an empty message is the library's own answer.
      if (status.error_message().empty()) {
        if (undecodable_ && status.error_code() == grpc::StatusCode::INTERNAL) {
          methods->ModifySendStatus(UndecodableRequest());
        } else if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
          methods->ModifySendStatus(UnknownMethod());
        }
      } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
                 status.error_message() == kThreadsTaken) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::RESOURCE_EXHAUSTED,
            absl::StrCat("this server is busy: every thread it runs calls on is taken "
                         "(--max_threads=",
                         limits_.max_threads, "); retry shortly, or on another replica")));
      } else if (undecodable_ && status.error_code() == grpc::StatusCode::INTERNAL &&
                 status.error_message() == kNoMessage) {
        methods->ModifySendStatus(NoRequestMessage());
      }
    }
    methods->Proceed();
  }

 private:
  grpc::Status UndecodableRequest() const {
    const std::string expected = RequestMessageName(method_);
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("the request is not ",
                     expected.empty() ? std::string("this method's request message")
                                      : absl::StrCat("a ", expected),
                     ": its bytes do not parse as that protobuf message (cut short or damaged, a "
                     "string field that is not UTF-8, or not protobuf at all, such as JSON)"));
  }

  // Whether the stream was cut off (by the client, or by gRPC past the memory bound) or ended
  // with no message, the server cannot tell reliably: whether gRPC has marked the call
  // cancelled by now is a race. INTERNAL, gRPC's code, counted a client's doing as a failure of
  // the server's own.
  grpc::Status NoRequestMessage() const {
    return grpc::Status(
        grpc::StatusCode::CANCELLED,
        absl::StrCat("the request's stream ended before a whole message arrived: the client "
                     "cancelled it or sent none",
                     limits_.max_request_memory_bytes > 0
                         ? absl::StrCat(", or this server reset it because the requests "
                                        "arriving held more than --max_request_memory_bytes=",
                                        limits_.max_request_memory_bytes)
                         : ""));
  }

  grpc::Status UnknownMethod() const {
    // "/package.Service/Method": a service this server serves whose handler left the method to
    // the generated default, or a method it has never heard of.
    const size_t slash = method_.rfind('/');
    const std::string service(slash == std::string_view::npos || slash == 0
                                  ? std::string_view()
                                  : method_.substr(1, slash - 1));
    if (!service.empty() && absl::c_linear_search(served_, service)) {
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          absl::StrCat("this server's ", service, " does not implement ",
                                       std::string(method_.substr(slash + 1))));
    }
    return grpc::Status(
        grpc::StatusCode::UNIMPLEMENTED,
        absl::StrCat("this server has no method ", Quoted(method_), "; it serves ",
                     absl::StrJoin(served_, ", "), " (server reflection lists their methods)"));
  }

  // gRPC's own string, alive as long as the call: every call passes through here, and only the
  // rare failure needs a std::string of it.
  const std::string_view method_;
  const std::vector<std::string>& served_;
  const ServerLimits& limits_;
  bool undecodable_ = false;
};

class ExplainedStatusFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ExplainedStatusFactory(std::vector<std::string> served_services, ServerLimits limits)
      : served_(std::move(served_services)), limits_(limits) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new ExplainedStatus(*info, served_, limits_);
  }

 private:
  // Live with the server, which owns this factory.
  const std::vector<std::string> served_;
  const ServerLimits limits_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ExplainedStatusInterceptorFactory(std::vector<std::string> served_services, ServerLimits limits) {
  return std::make_unique<ExplainedStatusFactory>(std::move(served_services), limits);
}

}  // namespace dd
