// RenderService's gRPC handler: converts messages, calls the renderer, maps errors. No logic of
// its own beyond request limits.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "common/admission/admission_gate.h"
#include "common/render/helper_team.h"
#include "common/samples/library_holder.h"
#include "deepdrummer/v1/render.grpc.pb.h"

namespace dd {

struct RenderServiceOptions {
  // Longest audio one Render call may produce; bounds memory and message size per call. In
  // (0, 600]: 600 s of float audio is 106 MB, its WAV 53 MB.
  double max_render_seconds = 60.0;
};

// INVALID_ARGUMENT naming the option that is out of range.
absl::Status ValidateRenderServiceOptions(const RenderServiceOptions& options);

class RenderService final : public deepdrummer::v1::RenderService::Service {
 public:
  // `helpers` (optional): threads each render shares its mixing with when they are idle.
  // `admission` (optional, not owned): bounds the renders that run at once.
  RenderService(SampleLibraryHolder& samples, RenderServiceOptions options,
                std::shared_ptr<HelperTeam> helpers = nullptr, AdmissionGate* admission = nullptr)
      : samples_(samples), options_(options), helpers_(std::move(helpers)), admission_(admission) {}

  grpc::Status Render(grpc::ServerContext* context, const deepdrummer::v1::RenderRequest* request,
                      deepdrummer::v1::RenderResponse* response) override;
  grpc::Status RenderSteadyBar(grpc::ServerContext* context,
                               const deepdrummer::v1::RenderSteadyBarRequest* request,
                               deepdrummer::v1::RenderSteadyBarResponse* response) override;
  grpc::Status ListSamples(grpc::ServerContext* context,
                           const deepdrummer::v1::ListSamplesRequest* request,
                           deepdrummer::v1::ListSamplesResponse* response) override;
  grpc::Status ReloadSamples(grpc::ServerContext* context,
                             const deepdrummer::v1::ReloadSamplesRequest* request,
                             deepdrummer::v1::ReloadSamplesResponse* response) override;

 private:
  SampleLibraryHolder& samples_;
  const RenderServiceOptions options_;
  const std::shared_ptr<HelperTeam> helpers_;
  AdmissionGate* const admission_;
};

}  // namespace dd
