// GeneratorService's gRPC handler: plans a request (sampling_plan.h), runs the sampler library
// with the critic service as its scorer, and streams or collects the loops. Stops promptly at the
// caller's deadline or cancellation.
#pragma once

#include <functional>

#include "absl/time/time.h"
#include "common/admission/admission_gate.h"
#include "common/samples/library_holder.h"
#include "deepdrummer/v1/critic.grpc.pb.h"
#include "deepdrummer/v1/generator.grpc.pb.h"
#include "services/generator/sampling_plan.h"

namespace dd {

struct GeneratorServiceOptions {
  SamplingLimits limits;
  // Applied when the caller sets no deadline, so a forgotten deadline cannot pin chains forever.
  absl::Duration default_deadline = absl::Seconds(120);
  // Upper bound on each Score call to the critic service, within the request's deadline.
  absl::Duration critic_call_timeout = absl::Seconds(30);
};

class GeneratorService final : public deepdrummer::v1::GeneratorService::Service {
 public:
  // No dependency is owned. `admission` (optional) bounds the calls that run at once.
  GeneratorService(deepdrummer::v1::CriticService::StubInterface& critic,
                   SampleLibraryHolder& samples, GeneratorServiceOptions options,
                   AdmissionGate* admission = nullptr)
      : critic_(critic), samples_(samples), options_(options), admission_(admission) {}

  grpc::Status Sample(grpc::ServerContext* context, const deepdrummer::v1::SampleRequest* request,
                      deepdrummer::v1::SampleResponse* response) override;
  grpc::Status SampleStream(grpc::ServerContext* context,
                            const deepdrummer::v1::SampleRequest* request,
                            grpc::ServerWriter<deepdrummer::v1::SampledLoop>* writer) override;

 private:
  absl::Status Run(grpc::ServerContext& context, const deepdrummer::v1::SampleRequest& request,
                   const std::function<absl::Status(deepdrummer::v1::SampledLoop)>& emit);

  deepdrummer::v1::CriticService::StubInterface& critic_;
  SampleLibraryHolder& samples_;
  const GeneratorServiceOptions options_;
  AdmissionGate* const admission_;
};

}  // namespace dd
