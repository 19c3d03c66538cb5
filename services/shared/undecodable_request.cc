#include "services/shared/undecodable_request.h"

#include <string>

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace dd {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

// The full name of the request message of `method` ("/package.Service/Method"), from the
// descriptors compiled into this binary; empty for a method it does not know.
std::string RequestMessageName(const std::string& method) {
  if (method.size() < 2 || method[0] != '/') return "";
  const std::string dotted = absl::StrReplaceAll(method.substr(1), {{"/", "."}});
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(dotted);
  return descriptor != nullptr ? descriptor->input_type()->full_name() : "";
}

class UndecodableRequest final : public grpc::experimental::Interceptor {
 public:
  explicit UndecodableRequest(const ServerRpcInfo& info)
      : method_(info.method() != nullptr ? info.method() : "") {}

  void Intercept(InterceptorBatchMethods* methods) override {
    // The server deserialises before this hook and hands on no message when that failed.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      undecodable_ = true;
    }
    if (undecodable_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() == grpc::StatusCode::INTERNAL) {
      const std::string expected = RequestMessageName(method_);
      methods->ModifySendStatus(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("the request is not ",
                       expected.empty() ? std::string("this method's request message")
                                        : absl::StrCat("a ", expected),
                       ": its bytes do not parse as that protobuf message (cut short or "
                       "damaged, a string field that is not UTF-8, or not protobuf at all, "
                       "such as JSON)")));
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  bool undecodable_ = false;
};

class UndecodableRequestFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new UndecodableRequest(*info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
UndecodableRequestInterceptorFactory() {
  return std::make_unique<UndecodableRequestFactory>();
}

}  // namespace dd
