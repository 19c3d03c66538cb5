// dd-render: the render service.
#include <cstdlib>
#include <iostream>

#include "absl/flags/flag.h"
#include "common/log/log.h"
#include "common/samples/library_holder.h"
#include "services/render/render_service.h"
#include "services/shared/service_main.h"

ABSL_FLAG(std::string, samples, DD_DEFAULT_SAMPLES_DIR,
          "Folder of one-shot samples, scanned recursively (WAV, AIFF, FLAC, Ogg).");
ABSL_FLAG(double, max_sample_seconds, 10.0, "Sample files longer than this are rejected.");
ABSL_FLAG(double, max_render_seconds, 60.0, "Longest audio a single Render call may produce.");

int main(int argc, char** argv) {
  dd::InitService(argc, argv, "render",
                  "dd-render: renders drum loops to audio over a sample library.\n"
                  "Usage: dd-render --port=50051 --samples=samples/default-kit");
  dd::SampleLibraryOptions library_options;
  library_options.max_sample_seconds = absl::GetFlag(FLAGS_max_sample_seconds);
  auto samples = dd::SampleLibraryHolder::Create(absl::GetFlag(FLAGS_samples), library_options);
  if (!samples.ok()) {
    dd::log::Error("startup.failed", {{"error", samples.status().ToString()}});
    return EXIT_FAILURE;
  }
  dd::RenderServiceOptions options;
  options.max_render_seconds = absl::GetFlag(FLAGS_max_render_seconds);
  dd::RenderService service(**samples, options);

  dd::GrpcServerOptions server_options = dd::ServerOptionsFromFlags();
  server_options.health_service_names = {"deepdrummer.v1.RenderService"};
  auto server = dd::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) {
    dd::log::Error("startup.failed", {{"error", server.status().ToString()}});
    return EXIT_FAILURE;
  }
  return dd::ServeUntilSignalled(**server);
}
