#include "services/shared/call_log.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/shared/request_id.h"
#include "services/shared/status_mapping.h"

namespace dd {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

// Method names come from the caller; a made-up one is logged, but not at any length.
constexpr size_t kMaxLoggedMethodBytes = 200;

class CallLog final : public grpc::experimental::Interceptor {
 public:
  CallLog(ServerRpcInfo& info, CallLogThrottle& throttle)
      : info_(info),
        throttle_(throttle),
        start_(absl::Now()),
        method_(info.method() != nullptr ? info.method() : "") {
    if (method_.size() > kMaxLoggedMethodBytes) method_.resize(kMaxLoggedMethodBytes);
  }
  ~CallLog() override {
    if (!finished_) Finish(grpc::Status(grpc::StatusCode::CANCELLED, "ended without a status"));
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      AdoptRequestId(*methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      // In the trailers, not the initial metadata: a failed call whose server sent initial
      // metadata counts as committed, and gRPC's clients would no longer retry it elsewhere.
      if (!request_id_.empty()) {
        methods->GetSendTrailingMetadata()->emplace(kRequestIdMetadataKey, request_id_);
      }
      if (!finished_) Finish(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  // Keeps the caller's id, or replaces a missing or unusable one with a new id in the call's
  // metadata itself, so that the handler reads the same id through ServerContext. The map holds
  // references: the id's storage is this object, which lives as long as the call.
  void AdoptRequestId(std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    const auto found = metadata.find(kRequestIdMetadataKey);
    if (found != metadata.end()) {
      request_id_.assign(found->second.data(), found->second.size());
      if (IsUsableRequestId(request_id_)) return;
      metadata.erase(found);
    }
    request_id_ = NewRequestId();
    metadata.emplace(grpc::string_ref(kRequestIdMetadataKey), grpc::string_ref(request_id_));
  }

  void Finish(const grpc::Status& status) {
    finished_ = true;
    const log::Level level = CallLogLevel(status.error_code());
    if (!log::Enabled(level)) return;
    const std::string code =
        absl::StatusCodeToString(FromGrpcStatus(grpc::Status(status.error_code(), "")).code());
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start_);
    int64_t suppressed = 0;
    if (!status.ok() &&
        !throttle_.Admit(absl::StrCat(method_, " ", code), absl::Now(), suppressed)) {
      return;
    }
    const std::string peer =
        info_.server_context() != nullptr ? info_.server_context()->peer() : std::string();
    std::vector<log::Field> fields = {{"method", method_},
                                      {"code", code},
                                      {"ms", ms},
                                      {"request_id", request_id_},
                                      {"peer", peer}};
    if (!status.ok()) fields.emplace_back("error", status.error_message());
    if (suppressed > 0) fields.emplace_back("suppressed", static_cast<long long>(suppressed));
    log::Emit(level, "rpc.finished", fields);
  }

  ServerRpcInfo& info_;
  CallLogThrottle& throttle_;
  const absl::Time start_;
  std::string method_;
  std::string request_id_;
  bool finished_ = false;
};

class CallLogFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallLogFactory(int lines_per_second) : throttle_(lines_per_second) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new CallLog(*info, throttle_);
  }

 private:
  CallLogThrottle throttle_;  // Lives with the server, which owns this factory.
};

// Keys are method names, which callers make up: past this many the counts start over.
constexpr size_t kMaxThrottledKeys = 1024;

}  // namespace

log::Level CallLogLevel(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return log::Level::kDebug;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
      return log::Level::kWarning;
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
      return log::Level::kError;
    default:  // The caller's: a bad argument, a missing thing, a cancelled call, a wrong state.
      return log::Level::kInfo;
  }
}

bool CallLogThrottle::Admit(const std::string& key, absl::Time now, int64_t& suppressed) {
  absl::MutexLock lock(&mutex_);
  if (windows_.size() >= kMaxThrottledKeys && !windows_.contains(key)) windows_.clear();
  Window& window = windows_[key];
  if (now - window.start >= absl::Seconds(1)) {
    window.start = now;
    window.written = 0;
  }
  if (window.written >= limit_) {
    ++window.dropped;
    return false;
  }
  ++window.written;
  suppressed = std::exchange(window.dropped, 0);
  return true;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallLogInterceptorFactory(
    int lines_per_second) {
  return std::make_unique<CallLogFactory>(lines_per_second);
}

}  // namespace dd
