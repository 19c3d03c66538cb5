#include "services/shared/grpc_metrics.h"

#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/shared/status_mapping.h"

namespace dd {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

const char* TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

// One per call, from its start to the status it sends (or its end, if it sends none).
class CallMetrics final : public grpc::experimental::Interceptor {
 public:
  CallMetrics(const GrpcServerMetrics& metrics, ServerRpcInfo& info)
      : metrics_(metrics), start_(absl::Now()) {
    // "/deepdrummer.v1.RenderService/Render" -> service and method.
    const std::string full = info.method() != nullptr ? info.method() : "";
    const size_t slash = full.rfind('/');
    std::string service = slash == std::string::npos ? "" : full.substr(1, slash - 1);
    std::string method = slash == std::string::npos ? full : full.substr(slash + 1);
    // A call to a method no compiled-in service defines (gRPC answers UNIMPLEMENTED) counts
    // under one name: any client could otherwise grow the metrics without bound.
    if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
            absl::StrCat(service, ".", method)) == nullptr) {
      service = method = "unknown";
    }
    labels_ = {TypeName(info.type()), service, method};
    metrics_.started().WithLabels(labels_).Increment();
    in_flight_ = &metrics_.in_flight().WithLabels({service, method});
    in_flight_->Add(1);
  }
  ~CallMetrics() override {
    if (!finished_) Finish(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        !finished_) {
      Finish(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Finish(grpc::StatusCode code) {
    finished_ = true;
    in_flight_->Add(-1);
    std::vector<std::string> labels = labels_;
    labels.push_back(absl::StatusCodeToString(FromGrpcStatus(grpc::Status(code, "")).code()));
    metrics_.handled().WithLabels(labels).Increment();
    metrics_.handling_seconds().WithLabels(labels_).Observe(
        absl::ToDoubleSeconds(absl::Now() - start_));
  }

  const GrpcServerMetrics& metrics_;
  const absl::Time start_;
  std::vector<std::string> labels_;  // grpc_type, grpc_service, grpc_method.
  metrics::Gauge* in_flight_ = nullptr;
  bool finished_ = false;
};

class CallMetricsFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallMetricsFactory(const GrpcServerMetrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new CallMetrics(metrics_, *info);
  }

 private:
  const GrpcServerMetrics& metrics_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServerMetrics>> GrpcServerMetrics::Create(
    metrics::Registry& registry) {
  std::unique_ptr<GrpcServerMetrics> metrics(new GrpcServerMetrics());
  const std::vector<std::string> call = {"grpc_type", "grpc_service", "grpc_method"};
  auto started =
      registry.AddCounter("grpc_server_started_total", "Calls started on the server.", call);
  if (!started.ok()) return started.status();
  const std::vector<std::string> with_code = {"grpc_type", "grpc_service", "grpc_method",
                                              "grpc_code"};
  auto handled = registry.AddCounter("grpc_server_handled_total",
                                     "Calls completed on the server, by status code.", with_code);
  if (!handled.ok()) return handled.status();
  // From half a millisecond (a render) to ten minutes (a critic catching up on many ratings).
  auto seconds = registry.AddHistogram("grpc_server_handling_seconds",
                                       "Time from a call's start to its status, in seconds.", call,
                                       {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600});
  if (!seconds.ok()) return seconds.status();
  auto in_flight = registry.AddGauge("dd_grpc_server_in_flight", "Calls running on the server.",
                                     {"grpc_service", "grpc_method"});
  if (!in_flight.ok()) return in_flight.status();
  metrics->started_ = *started;
  metrics->handled_ = *handled;
  metrics->handling_seconds_ = *seconds;
  metrics->in_flight_ = *in_flight;
  return metrics;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcServerMetrics::InterceptorFactory() {
  return std::make_unique<CallMetricsFactory>(*this);
}

}  // namespace dd
