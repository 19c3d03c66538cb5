// dd_generator_bench: time to sample one loop, Phase I (Metropolis-Hastings, 100 steps) and
// Phase II (threshold 0.95, cap 500 steps, which an untrained critic never reaches), with the
// critic in process and over gRPC (dd-generator -> dd-critic, both real processes, against a
// PostgreSQL the benchmark starts). Prints a table.
//
//   build/tests/bench/generator/dd_generator_bench [--repeats=5] [--threads=0] [--samples=DIR]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "tests/bench/bench_flags.h"

#include "common/critic/critic.h"
#include "common/sampler/local_critic_scorer.h"
#include "common/sampler/sampler.h"
#include "common/samples/sample_library.h"
#include "deepdrummer/v1/critic.grpc.pb.h"
#include "deepdrummer/v1/generator.grpc.pb.h"
#include "tests/support/postgres_server.h"
#include "tests/support/service_process.h"
#include "tests/support/test_support.h"

namespace {

constexpr char kUsage[] = "[--repeats=N] [--threads=N] [--samples=DIR]";

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  return dd::bench::Flag(argc, argv, name, fallback, kUsage);
}

namespace v1 = deepdrummer::v1;
using Clock = std::chrono::steady_clock;

struct Timing {
  double median_ms = 0;
  double min_ms = 0;
};

Timing Measure(int repeats, const std::function<void(int)>& run) {
  run(-1);  // Warm-up: first-touch allocations, connections.
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    run(i);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front()};
}

void Row(const char* what, const char* where, const Timing& timing) {
  std::printf("| %-34s | %-10s | %9.1f | %9.1f |\n", what, where, timing.median_ms, timing.min_ms);
}

void Die(const std::string& message) {
  std::fprintf(stderr, "dd_generator_bench: %s\n", message.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = std::stoi(Flag(argc, argv, "repeats", "5"));
  const std::string threads = Flag(argc, argv, "threads", "0");
  const std::string samples_dir =
      Flag(argc, argv, "samples", dd::testing::DefaultKitDir().string());
  dd::critic::ConfigureCpuRuntime(std::stoi(threads));

  auto library = dd::SampleLibrary::Load(samples_dir, {});
  if (!library.ok()) Die(library.status().ToString());
  dd::Renderer renderer(*library);
  auto generator = dd::PatternGenerator::Create({}, dd::SamplePool{(*library)->ids(), {}});
  if (!generator.ok()) Die(generator.status().ToString());
  std::string error;
  auto critic = dd::critic::Critic::Create(dd::critic::CriticConfig{.seed = 1}, "cpu", &error);
  if (critic == nullptr) Die(error);
  dd::LocalCriticScorer scorer(renderer, *critic);

  dd::SamplerOptions phase1;  // 100 steps.
  dd::SamplerOptions phase2;
  phase2.mode = dd::SamplingMode::kThreshold;  // 0.95, cap 500.
  auto local = [&](const dd::SamplerOptions& options) {
    return [&, options](int i) {
      auto loops = dd::SampleLoops(*generator, scorer, options,
                                   {.count = 1, .seed = static_cast<uint64_t>(i + 100)});
      if (!loops.ok()) Die(loops.status().ToString());
    };
  };

  std::printf("| %-34s | %-10s | %9s | %9s |\n", "one loop", "critic", "median ms", "min ms");
  std::printf("|%s|%s|%s|%s|\n", std::string(36, '-').c_str(), std::string(12, '-').c_str(),
              std::string(11, '-').c_str(), std::string(11, '-').c_str());
  Row("Phase I (Metropolis, 100 steps)", "in process", Measure(repeats, local(phase1)));
  Row("Phase II (threshold 0.95, cap 500)", "in process", Measure(repeats, local(phase2)));

  std::string pg_error;
  auto postgres = dd::testing::PostgresServer::Start(&pg_error);
  if (postgres == nullptr) Die(pg_error);
  const std::string database = postgres->CreateDatabase("generator_bench");
  dd::testing::ServiceProcess critic_worker(
      DD_CRITIC_BIN, {"--database=" + database, "--threads=" + threads, "--log_level=warning",
                      "--samples=" + samples_dir});
  dd::testing::ServiceProcess generator_service(
      DD_GENERATOR_BIN,
      {"--critic=" + critic_worker.address(), "--log_level=warning", "--samples=" + samples_dir});
  if (critic_worker.port() == 0 || generator_service.port() == 0) Die("services did not start");
  auto critic_stub = v1::CriticService::NewStub(critic_worker.channel());
  auto generator_stub = v1::GeneratorService::NewStub(generator_service.channel());
  v1::CreateCriticRequest create;
  create.mutable_config()->set_seed(1);
  v1::CreateCriticResponse created;
  grpc::ClientContext create_context;
  if (!critic_stub->CreateCritic(&create_context, create, &created).ok())
    Die("CreateCritic failed");

  auto remote = [&](v1::SamplingMode mode) {
    return [&, mode](int i) {
      v1::SampleRequest request;
      request.set_critic_id(created.critic_id());
      request.set_mode(mode);
      request.set_count(1);
      request.set_seed(static_cast<uint64_t>(i + 100));
      v1::SampleResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
      grpc::Status status = generator_stub->Sample(&context, request, &response);
      if (!status.ok()) Die(status.error_message());
    };
  };
  // The services settle for a few seconds after they start (PostgreSQL's first checkpoint, the
  // critic's first load and kernel choices); measured straight away, the first row came out at
  // twice the per-step cost of the rows after it.
  const auto settle_until = Clock::now() + std::chrono::seconds(5);
  for (int i = 0; Clock::now() < settle_until; ++i)
    remote(v1::SAMPLING_MODE_METROPOLIS)(1000 + i);
  Row("Phase I (Metropolis, 100 steps)", "gRPC",
      Measure(repeats, remote(v1::SAMPLING_MODE_METROPOLIS)));
  Row("Phase II (threshold 0.95, cap 500)", "gRPC",
      Measure(repeats, remote(v1::SAMPLING_MODE_THRESHOLD)));
  return 0;
}
