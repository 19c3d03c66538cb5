// dd-session: users, sessions and the two-phase protocol, in PostgreSQL; what clients talk to.
// Any number of replicas may serve the same database.
#include <cstdlib>

#include "absl/flags/flag.h"
#include "common/log/log.h"
#include "common/sampler/sampler_options.h"
#include "common/storage/session_repository.h"
#include "services/session/session_coordinator.h"
#include "services/session/session_service.h"
#include "services/shared/client_channel.h"
#include "services/shared/database_flags.h"
#include "services/shared/flag_checks.h"
#include "services/shared/grpc_server_flags.h"
#include "services/shared/service_main.h"

ABSL_FLAG(std::string, critic, "127.0.0.1:50052",
          "Critic service: host:port, or dns:///name:port to use every replica it resolves to.");
ABSL_FLAG(std::string, generator, "127.0.0.1:50053",
          "Generator service: host:port, or dns:///name:port to use every replica it resolves to.");
ABSL_FLAG(std::string, render, "127.0.0.1:50051",
          "Render service: host:port, or dns:///name:port to use every replica it resolves to.");
ABSL_FLAG(int, background_threads, 4,
          "Sessions whose next loop is prepared concurrently in the background.");
ABSL_FLAG(absl::Duration, critic_timeout, absl::Minutes(10),
          "Deadline of each Train call (a catch-up after a crash trains on many ratings).");
ABSL_FLAG(absl::Duration, generator_timeout, absl::Minutes(2), "Deadline of each Sample call.");
ABSL_FLAG(int, phase1_critic_lag, 0,
          "Default SessionOptions.phase1_critic_lag: 0 is the paper's order (the NextLoop after a "
          "Rate waits for one training round); 1 draws each Phase I loop from the critic that saw "
          "every rating but the last, so training hides in the listening time. 0 or 1.");

ABSL_FLAG(int, max_sampling_steps, 10000,
          "Largest SessionOptions sampler.min_steps + sampler.max_steps StartSession accepts: the "
          "most critic scorings one loop may take. Keep it such that that many fit "
          "--generator_timeout on your critic workers (~1.7 ms a step on a 2-core CPU worker, "
          "slower while it trains other sessions' critics); the paper's options take at most 600.");

ABSL_FLAG(int, max_audio_exports, 2,
          "ExportSession calls with include_audio built at once: each holds up to "
          "--max_message_bytes of audio, about twice that while it is sent (16 at once took "
          "dd-session to 1.7 GB). More wait up to 5s for one to finish, then get "
          "RESOURCE_EXHAUSTED. 0: no limit.");

int main(int argc, char** argv) {
  dd::InitService(argc, argv, "session",
                  "users, sessions and the two-phase protocol.\n"
                  "Usage: dd-session --port=50054 --critic=127.0.0.1:50052 "
                  "--generator=127.0.0.1:50053 --render=127.0.0.1:50051");
  // Session requests hold ids and a few numbers.
  auto server_options = dd::GrpcServerOptionsFromFlags(/*own_max_request_bytes=*/1 << 20);
  if (!server_options.ok()) return dd::StartupFailed(server_options.status());
  const int critic_lag = absl::GetFlag(FLAGS_phase1_critic_lag);
  if (absl::Status s = dd::FirstError(
          {dd::CheckTargetFlag("critic", absl::GetFlag(FLAGS_critic)),
           dd::CheckTargetFlag("generator", absl::GetFlag(FLAGS_generator)),
           dd::CheckTargetFlag("render", absl::GetFlag(FLAGS_render)),
           dd::CheckIntFlag("background_threads", absl::GetFlag(FLAGS_background_threads), 1, 256),
           dd::CheckPositiveDurationFlag("critic_timeout", absl::GetFlag(FLAGS_critic_timeout)),
           dd::CheckPositiveDurationFlag("generator_timeout",
                                         absl::GetFlag(FLAGS_generator_timeout)),
           dd::CheckIntFlag("phase1_critic_lag", critic_lag, 0, 1),
           dd::CheckIntFlag("max_sampling_steps", absl::GetFlag(FLAGS_max_sampling_steps), 1,
                            2 * dd::SamplerOptions::kMaxStepLimit),
           dd::CheckIntFlag("max_audio_exports", absl::GetFlag(FLAGS_max_audio_exports), 0, 1024)});
      !s.ok()) {
    return dd::StartupFailed(s);
  }
  // The pool's metrics, served with the server's calls (--metrics_port).
  dd::metrics::Registry metrics;
  auto pool = dd::OpenDatabaseFromFlags(dd::storage::SessionRepository::Statements(), &metrics);
  if (!pool.ok()) return dd::StartupFailed(pool.status());
  if (dd::MigrateOnly()) return EXIT_SUCCESS;
  dd::storage::SessionRepository repository(**pool);
  // Rendered audio (a 9 s WAV is 0.8 MB) fits the channels' default limits (64 MiB).
  auto channel_options = dd::ClientChannelOptionsFromFlags();
  if (!channel_options.ok()) return dd::StartupFailed(channel_options.status());
  auto critic = deepdrummer::v1::CriticService::NewStub(
      dd::ClientChannel(absl::GetFlag(FLAGS_critic), *channel_options));
  auto generator = deepdrummer::v1::GeneratorService::NewStub(
      dd::ClientChannel(absl::GetFlag(FLAGS_generator), *channel_options));
  auto render = deepdrummer::v1::RenderService::NewStub(
      dd::ClientChannel(absl::GetFlag(FLAGS_render), *channel_options));
  dd::SessionCoordinatorOptions coordinator_options;
  coordinator_options.background_threads = absl::GetFlag(FLAGS_background_threads);
  coordinator_options.critic_timeout = absl::GetFlag(FLAGS_critic_timeout);
  coordinator_options.generator_timeout = absl::GetFlag(FLAGS_generator_timeout);
  dd::SessionCoordinator coordinator(repository, *critic, *generator, coordinator_options);
  dd::SessionServiceOptions service_options;
  service_options.session_limits.default_phase1_critic_lag = critic_lag;
  service_options.session_limits.max_sampling_steps = absl::GetFlag(FLAGS_max_sampling_steps);
  service_options.max_reply_bytes = server_options->max_send_message_bytes;
  auto audio_exports = dd::AdmissionGate::Create(
      {.name = "dd-session's ExportSession with include_audio (--max_audio_exports)",
       .max_concurrent = absl::GetFlag(FLAGS_max_audio_exports),
       .max_wait = absl::Seconds(5)});
  if (!audio_exports.ok()) return dd::StartupFailed(audio_exports.status());
  dd::SessionService service(repository, coordinator, *critic, *render, service_options,
                             audio_exports->get());

  server_options->health_service_names = {"deepdrummer.v1.SessionService"};
  server_options->metrics_registry = &metrics;
  auto server = dd::GrpcServer::Start(*server_options, {&service});
  if (!server.ok()) return dd::StartupFailed(server.status());
  dd::log::Info("session.ready", {{"critic", absl::GetFlag(FLAGS_critic)},
                                  {"generator", absl::GetFlag(FLAGS_generator)},
                                  {"render", absl::GetFlag(FLAGS_render)}});
  return dd::ServeUntilSignalled(**server);
}
