// dd-generator: samples drum loops a critic likes, scoring through the critic service.
// Stateless; run as many as needed.
#include <cstdlib>

#include "absl/flags/flag.h"
#include "common/log/log.h"
#include "common/samples/library_holder.h"
#include "services/generator/generator_service.h"
#include "services/shared/call_admission.h"
#include "services/shared/client_channel.h"
#include "services/shared/flag_checks.h"
#include "services/shared/grpc_server_flags.h"
#include "services/shared/service_main.h"

ABSL_FLAG(std::string, critic, "127.0.0.1:50052",
          "Critic service: host:port, or dns:///name:port to use every replica it resolves to.");
ABSL_FLAG(std::string, samples, DD_DEFAULT_SAMPLES_DIR,
          "Sample folder whose ids the generator draws from (the same as the critic's and "
          "dd-render's).");
ABSL_FLAG(int, max_count, 256, "Most loops one request may ask for.");
ABSL_FLAG(absl::Duration, default_deadline, absl::Seconds(120),
          "Deadline applied to requests that set none.");
ABSL_FLAG(absl::Duration, critic_timeout, absl::Seconds(30),
          "Upper bound on each Score call to the critic service.");

int main(int argc, char** argv) {
  dd::InitService(argc, argv, "generator",
                  "Metropolis-Hastings sampling of drum loops guided by a critic.\n"
                  "Usage: dd-generator --port=50053 --critic=127.0.0.1:50052");
  // The largest request names 100,000 fingerprints to avoid (SamplingLimits::max_avoid), 1.8 MB.
  auto server_options = dd::GrpcServerOptionsFromFlags(/*own_max_request_bytes=*/4 << 20);
  if (!server_options.ok()) return dd::StartupFailed(server_options.status());
  if (absl::Status s = dd::FirstError(
          {dd::CheckTargetFlag("critic", absl::GetFlag(FLAGS_critic)),
           dd::CheckIntFlag("max_count", absl::GetFlag(FLAGS_max_count), 1, 4096),
           dd::CheckPositiveDurationFlag("default_deadline", absl::GetFlag(FLAGS_default_deadline)),
           dd::CheckPositiveDurationFlag("critic_timeout", absl::GetFlag(FLAGS_critic_timeout))});
      !s.ok()) {
    return dd::StartupFailed(s);
  }
  auto samples = dd::SampleLibraryHolder::Create(absl::GetFlag(FLAGS_samples), {});
  if (!samples.ok()) return dd::StartupFailed(samples.status());
  // Score replies are small; requests carry up to max_count * chains loops, well under this.
  auto channel_options = dd::ClientChannelOptionsFromFlags();
  if (!channel_options.ok()) return dd::StartupFailed(channel_options.status());
  channel_options->max_receive_message_bytes = 16 << 20;
  channel_options->max_send_message_bytes = 16 << 20;
  auto critic = deepdrummer::v1::CriticService::NewStub(
      dd::ClientChannel(absl::GetFlag(FLAGS_critic), *channel_options));
  dd::GeneratorServiceOptions options;
  options.limits.max_count = absl::GetFlag(FLAGS_max_count);
  options.default_deadline = absl::GetFlag(FLAGS_default_deadline);
  options.critic_call_timeout = absl::GetFlag(FLAGS_critic_timeout);
  auto admission = dd::AdmissionGateFromFlags("dd-generator");
  if (!admission.ok()) return dd::StartupFailed(admission.status());
  dd::GeneratorService service(*critic, **samples, options, admission->get());

  server_options->health_service_names = {"deepdrummer.v1.GeneratorService"};
  auto server = dd::GrpcServer::Start(*server_options, {&service});
  if (!server.ok()) return dd::StartupFailed(server.status());
  dd::log::Info("generator.ready", {{"critic", absl::GetFlag(FLAGS_critic)},
                                    {"samples", (*samples)->Get()->ids().size()}});
  return dd::ServeUntilSignalled(**server);
}
