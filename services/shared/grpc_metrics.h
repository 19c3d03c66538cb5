// Every call a gRPC server handles, counted in the metric names the Prometheus ecosystem's gRPC
// dashboards use (grpc_server_started_total, grpc_server_handled_total by status code,
// grpc_server_handling_seconds), plus the calls in flight per method.
#pragma once

#include <memory>

#include <grpcpp/support/server_interceptor.h>

#include "absl/status/statusor.h"
#include "common/metrics/registry.h"

namespace dd {

class GrpcServerMetrics {
 public:
  // Adds the families to `registry`, which must outlive this object and the server.
  static absl::StatusOr<std::unique_ptr<GrpcServerMetrics>> Create(metrics::Registry& registry);

  // For ServerBuilder::experimental().SetInterceptorCreators; this object must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  metrics::Family<metrics::Counter>& started() const { return *started_; }
  metrics::Family<metrics::Counter>& handled() const { return *handled_; }
  metrics::Family<metrics::Histogram>& handling_seconds() const { return *handling_seconds_; }
  metrics::Family<metrics::Gauge>& in_flight() const { return *in_flight_; }

 private:
  GrpcServerMetrics() = default;
  metrics::Family<metrics::Counter>* started_ = nullptr;
  metrics::Family<metrics::Counter>* handled_ = nullptr;
  metrics::Family<metrics::Histogram>* handling_seconds_ = nullptr;
  metrics::Family<metrics::Gauge>* in_flight_ = nullptr;
};

}  // namespace dd
