// dd-render: the render service.
#include <cstdlib>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/samples/library_holder.h"
#include "services/render/render_service.h"
#include "services/shared/call_admission.h"
#include "services/shared/grpc_server_flags.h"
#include "services/shared/service_main.h"

ABSL_FLAG(std::string, samples, DD_DEFAULT_SAMPLES_DIR,
          "Folder of one-shot samples, scanned recursively (WAV, AIFF, FLAC, Ogg).");
ABSL_FLAG(double, max_sample_seconds, 10.0, "Sample files longer than this are rejected.");
ABSL_FLAG(double, max_render_seconds, 60.0, "Longest audio a single Render call may produce.");
ABSL_FLAG(int, render_helpers, 1,
          "Helper threads a render shares its mixing with when they are idle, so one request "
          "can use more than one core (on an idle 2-core machine a 9 s loop takes about half as "
          "long, though less so where the two cores share no cache; README, Performance). The "
          "machine's cores less one is a good value; 0 renders on the request's thread only. "
          "Adds no throughput when every core is already busy with requests.");
ABSL_FLAG(absl::Duration, render_helper_spin, absl::Microseconds(200),
          "How long an idle helper polls for the next render before it sleeps (0 to 10ms). "
          "Polling keeps back-to-back renders from waiting for a thread to wake; it yields the "
          "core to any thread that wants it.");

int main(int argc, char** argv) {
  dd::InitService(argc, argv, "render",
                  "renders drum loops to audio over a sample library.\n"
                  "Usage: dd-render --port=50051 --samples=samples/default-kit");
  // A render request carries one loop: a few KB.
  auto server_options = dd::GrpcServerOptionsFromFlags(/*own_max_request_bytes=*/1 << 20);
  if (!server_options.ok()) return dd::StartupFailed(server_options.status());
  // Checked before the samples load, which can take seconds.
  auto helpers = dd::HelperTeam::Create({.helpers = absl::GetFlag(FLAGS_render_helpers),
                                         .spin = absl::GetFlag(FLAGS_render_helper_spin)});
  if (!helpers.ok()) {
    return dd::StartupFailed(
        absl::StrCat("--render_helpers/--render_helper_spin: ", helpers.status().ToString()));
  }
  dd::SampleLibraryOptions library_options;
  library_options.max_sample_seconds = absl::GetFlag(FLAGS_max_sample_seconds);
  auto samples = dd::SampleLibraryHolder::Create(absl::GetFlag(FLAGS_samples), library_options);
  if (!samples.ok()) return dd::StartupFailed(samples.status());
  dd::RenderServiceOptions options;
  options.max_render_seconds = absl::GetFlag(FLAGS_max_render_seconds);
  if (absl::Status s = dd::ValidateRenderServiceOptions(options); !s.ok()) {
    return dd::StartupFailed(absl::StrCat("--", s.message()));
  }
  auto admission = dd::AdmissionGateFromFlags("dd-render");
  if (!admission.ok()) return dd::StartupFailed(admission.status());
  dd::RenderService service(**samples, options,
                            std::shared_ptr<dd::HelperTeam>(*std::move(helpers)), admission->get());

  server_options->health_service_names = {"deepdrummer.v1.RenderService"};
  auto server = dd::GrpcServer::Start(*server_options, {&service});
  if (!server.ok()) return dd::StartupFailed(server.status());
  return dd::ServeUntilSignalled(**server);
}
