// dd-critic: the critic worker. Stateless: critics live in PostgreSQL; run as many as needed.
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/critic/critic.h"
#include "common/critic_serving/critic_store.h"
#include "common/log/log.h"
#include "common/render/helper_team.h"
#include "common/samples/library_holder.h"
#include "common/storage/critic_repository.h"
#include "services/critic/critic_service.h"
#include "services/shared/call_admission.h"
#include "services/shared/database_flags.h"
#include "services/shared/flag_checks.h"
#include "services/shared/grpc_server_flags.h"
#include "services/shared/service_main.h"

ABSL_FLAG(std::string, samples, DD_DEFAULT_SAMPLES_DIR,
          "Sample folder used to render loops given to Train and Score (same as dd-render's).");
ABSL_FLAG(std::string, device, "cpu", "Where critics run: cpu, or cuda:N when LibTorch has CUDA.");
ABSL_FLAG(std::string, training_precision, "auto",
          "How training steps compute: float32 (the paper's), bfloat16 (mixed: network in "
          "bfloat16, weights, optimizer, features and loss in float32; about a third faster where "
          "the CPU has native bfloat16), or auto (bfloat16 on a CPU device with native bfloat16, "
          "float32 otherwise). Scoring is float32 either way.");
ABSL_FLAG(bool, cuda_graphs, true,
          "On a cuda device, record each training round's minibatch step once as a CUDA graph and "
          "replay it, and each scoring batch size's forward once per critic, kept (needs a build "
          "with -DDD_CUDA=ON; ignored otherwise). Off: kernels are launched one by one, as on the "
          "CPU.");
ABSL_FLAG(bool, cudnn_benchmark, true,
          "On a cuda device, let cuDNN time its convolution algorithms once for each input shape "
          "and keep the fastest, instead of its heuristics' pick (the first call of a shape takes "
          "longer). Ignored on the CPU.");
ABSL_FLAG(int, threads, 0, "CPU threads for LibTorch; 0 means one per hardware thread.");
ABSL_FLAG(int, cache_critics, 64,
          "Critic instances kept in memory (LRU); a miss reloads from PostgreSQL.");
ABSL_FLAG(int, cache_mib, 2048,
          "Memory the cached critics may hold, in MiB, estimated from their rated clips (353 KB "
          "each: ~32 MB for the paper's 80 ratings) and weights; beyond it the least recently "
          "used are dropped (one is always kept). Keep it well under the worker's memory limit.");
ABSL_FLAG(absl::Duration, batch_window, absl::ZeroDuration(),
          "Extra wait of a Score call for others to batch with when its critic version is idle. "
          "Calls that arrive while a batch runs always go together in the next batch.");
ABSL_FLAG(int, training_slots, 1,
          "Training rounds run at once across all critics of this worker. Each round uses every "
          "LibTorch thread, so more than one per set of cores only makes them contend.");
ABSL_FLAG(int, max_batch, 1024, "Items per Score call; larger calls get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, render_helpers, 0,
          "Threads (0 to 63) that render a Train or Score call's loops alongside the call's own "
          "thread, each loop on one thread. Worth it on GPU workers, where rendering (about 50 us "
          "a loop on one core) takes longer than scoring; on CPU workers LibTorch already uses "
          "every core.");

ABSL_FLAG(int, keep_version_weights, 0,
          "How many of each critic's newest versions keep their weights in the database (about "
          "1.2 MB a version, one version per rating); older versions keep their row (rating, "
          "loss) but can no longer be scored with or snapshotted. Version 0, the untrained "
          "critic, always keeps them. 0 keeps every version's; otherwise at least 2, as "
          "dd-session's sessions with a critic lag sample from the version before the latest.");

int main(int argc, char** argv) {
  dd::InitService(argc, argv, "critic",
                  "trains and serves per-user critics.\n"
                  "Usage: dd-critic --port=50052 --database='host=127.0.0.1 port=55432 "
                  "dbname=deepdrummer user=deepdrummer'");
  // A Score batch of clips: each 9 s clip is 1.6 MB.
  auto server_options = dd::GrpcServerOptionsFromFlags(/*own_max_request_bytes=*/64 << 20);
  if (!server_options.ok()) return dd::StartupFailed(server_options.status());
  if (absl::Status s = dd::FirstError(
          {dd::CheckIntFlag("threads", absl::GetFlag(FLAGS_threads), 0, 1024),
           dd::CheckIntFlag("max_batch", absl::GetFlag(FLAGS_max_batch), 1, 1 << 16),
           dd::CheckIntFlag("cache_critics", absl::GetFlag(FLAGS_cache_critics), 1, 1 << 20),
           dd::CheckIntFlag("cache_mib", absl::GetFlag(FLAGS_cache_mib), 1, 1 << 24),
           dd::CheckIntFlag("keep_version_weights", absl::GetFlag(FLAGS_keep_version_weights), 0,
                            1 << 30)});
      !s.ok()) {
    return dd::StartupFailed(s);
  }
  if (absl::GetFlag(FLAGS_keep_version_weights) == 1) {
    return dd::StartupFailed(absl::InvalidArgumentError(
        "--keep_version_weights must be 0 (keep all) or at least 2: dd-session's sessions with "
        "a critic lag sample from the version before the latest"));
  }
  // The pool's and the store's metrics, served with the server's calls (--metrics_port).
  dd::metrics::Registry metrics;
  auto pool = dd::OpenDatabaseFromFlags(dd::storage::CriticRepository::Statements(), &metrics);
  if (!pool.ok()) return dd::StartupFailed(pool.status());
  if (dd::MigrateOnly()) return EXIT_SUCCESS;
  dd::critic::ConfigureCpuRuntime(absl::GetFlag(FLAGS_threads));
  const bool on_cuda = absl::GetFlag(FLAGS_device).rfind("cuda", 0) == 0;
  if (on_cuda) dd::critic::ConfigureCudaRuntime(absl::GetFlag(FLAGS_cudnn_benchmark));
  auto samples = dd::SampleLibraryHolder::Create(absl::GetFlag(FLAGS_samples), {});
  if (!samples.ok()) return dd::StartupFailed(samples.status());
  dd::storage::CriticRepository repository(
      **pool, {.kept_weight_versions = absl::GetFlag(FLAGS_keep_version_weights)});
  dd::CriticStoreOptions store_options;
  store_options.device = absl::GetFlag(FLAGS_device);
  std::string precision_error;
  auto precision = dd::critic::ParseTrainingPrecision(absl::GetFlag(FLAGS_training_precision),
                                                      store_options.device, &precision_error);
  if (!precision) return dd::StartupFailed(absl::InvalidArgumentError(precision_error));
  store_options.run.precision = *precision;
  store_options.run.cuda_graphs = absl::GetFlag(FLAGS_cuda_graphs);
  store_options.cache_capacity = absl::GetFlag(FLAGS_cache_critics);
  store_options.cache_bytes = int64_t{absl::GetFlag(FLAGS_cache_mib)} << 20;
  store_options.batch_window = absl::GetFlag(FLAGS_batch_window);
  store_options.training_slots = absl::GetFlag(FLAGS_training_slots);
  auto store = dd::CriticStore::Create(repository, store_options, &metrics);
  if (!store.ok()) return dd::StartupFailed(store.status());
  auto render_helpers = dd::HelperTeam::Create({.helpers = absl::GetFlag(FLAGS_render_helpers)});
  if (!render_helpers.ok()) {
    return dd::StartupFailed(absl::InvalidArgumentError(
        absl::StrCat("--render_helpers: ", render_helpers.status().message())));
  }
  auto admission = dd::AdmissionGateFromFlags("dd-critic");
  if (!admission.ok()) return dd::StartupFailed(admission.status());
  dd::CriticServiceOptions options;
  options.max_score_batch = absl::GetFlag(FLAGS_max_batch);
  dd::CriticService service(**store, repository, **samples, options, render_helpers->get(),
                            admission->get());

  server_options->health_service_names = {"deepdrummer.v1.CriticService"};
  server_options->metrics_registry = &metrics;
  auto server = dd::GrpcServer::Start(*server_options, {&service});
  if (!server.ok()) return dd::StartupFailed(server.status());
  dd::log::Info(
      "critic.ready",
      {{"device", store_options.device},
       {"training_precision", dd::critic::TrainingPrecisionName(*precision)},
       {"cpu_native_bfloat16", dd::critic::CpuHasNativeBFloat16()},
       {"cuda_available", dd::critic::CudaAvailable()},
       {"cuda_graphs", on_cuda && store_options.run.cuda_graphs && dd::critic::CudaGraphsBuilt()},
       {"cudnn_benchmark", on_cuda && absl::GetFlag(FLAGS_cudnn_benchmark)}});
  return dd::ServeUntilSignalled(**server);
}
