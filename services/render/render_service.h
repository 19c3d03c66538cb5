// RenderService's gRPC handler: converts messages, calls the renderer, maps errors. No logic of
// its own beyond request limits.
#pragma once

#include "common/samples/library_holder.h"
#include "deepdrummer/v1/render.grpc.pb.h"

namespace dd {

struct RenderServiceOptions {
  // Longest audio one Render call may produce; bounds memory and message size per call.
  double max_render_seconds = 60.0;
};

class RenderService final : public deepdrummer::v1::RenderService::Service {
 public:
  RenderService(SampleLibraryHolder& samples, RenderServiceOptions options)
      : samples_(samples), options_(options) {}

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
};

}  // namespace dd
