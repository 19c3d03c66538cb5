// dd-generator and dd-critic as real processes on loopback, with a PostgreSQL the test starts;
// every call goes over gRPC as a client's would.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "deepdrummer/v1/critic.grpc.pb.h"
#include "deepdrummer/v1/generator.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/postgres_server.h"
#include "tests/support/service_process.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {
namespace v1 = deepdrummer::v1;

std::unique_ptr<grpc::ClientContext> Context(
    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

class GeneratorServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string database = dd::testing::SharedPostgres().CreateDatabase("generator_service");
    const std::string kit = "--samples=" + dd::testing::DefaultKitDir().string();
    critic_ = new dd::testing::ServiceProcess(
        DD_CRITIC_BIN, {"--database=" + database, "--threads=1", "--log_level=warning", kit});
    generator_ = new dd::testing::ServiceProcess(
        DD_GENERATOR_BIN, {"--critic=" + critic_->address(), "--log_level=warning", kit});
  }
  static void TearDownTestSuite() {
    delete generator_;
    delete critic_;
  }

  void SetUp() override {
    ASSERT_NE(critic_->port(), 0);
    ASSERT_NE(generator_->port(), 0);
    critic_stub_ = v1::CriticService::NewStub(critic_->channel());
    stub_ = v1::GeneratorService::NewStub(generator_->channel());
    v1::CreateCriticRequest create;
    create.mutable_config()->set_seed(3);
    v1::CreateCriticResponse created;
    ASSERT_TRUE(critic_stub_->CreateCritic(Context().get(), create, &created).ok());
    critic_id_ = created.critic_id();
  }

  v1::SampleRequest Request(v1::SamplingMode mode, uint32_t count, uint64_t seed) const {
    v1::SampleRequest request;
    request.set_critic_id(critic_id_);
    request.set_mode(mode);
    request.set_count(count);
    request.set_seed(seed);
    request.mutable_sampler()->set_min_steps(10);
    request.mutable_sampler()->set_max_steps(10);
    return request;
  }

  grpc::StatusCode Code(const v1::SampleRequest& request) {
    v1::SampleResponse response;
    grpc::Status status = stub_->Sample(Context().get(), request, &response);
    EXPECT_FALSE(status.error_message().empty() && !status.ok());
    return status.error_code();
  }

  static dd::testing::ServiceProcess* critic_;
  static dd::testing::ServiceProcess* generator_;
  std::unique_ptr<v1::CriticService::Stub> critic_stub_;
  std::unique_ptr<v1::GeneratorService::Stub> stub_;
  std::string critic_id_;
};
dd::testing::ServiceProcess* GeneratorServiceTest::critic_ = nullptr;
dd::testing::ServiceProcess* GeneratorServiceTest::generator_ = nullptr;

TEST_F(GeneratorServiceTest, SamplesDistinctScoredLoopsFromTheCritic) {
  v1::SampleRequest request = Request(v1::SAMPLING_MODE_METROPOLIS, 3, 11);
  request.mutable_priors()->set_four_on_the_floor(true);
  v1::SampleResponse response;
  grpc::Status status = stub_->Sample(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.loops_size(), 3);
  std::set<std::string> fingerprints;
  for (const v1::SampledLoop& loop : response.loops()) {
    EXPECT_EQ(loop.steps_taken(), 10u);
    EXPECT_GT(loop.score(), 0.0);
    EXPECT_LT(loop.score(), 1.0);
    EXPECT_EQ(loop.critic_version(), 0u);
    EXPECT_EQ(loop.loop().tracks_size(), 4);
    EXPECT_EQ(loop.loop().steps(), 16u);
    for (int step = 0; step < 16; step += 4)
      EXPECT_TRUE(loop.loop().tracks(0).hits(step));
    EXPECT_EQ(loop.fingerprint().size(), 16u);
    fingerprints.insert(loop.fingerprint());
  }
  EXPECT_EQ(fingerprints.size(), 3u);

  // The critic agrees with the score the generator reports.
  v1::ScoreRequest score;
  score.set_critic_id(critic_id_);
  *score.add_items()->mutable_loop() = response.loops(0).loop();
  v1::ScoreResponse scored;
  ASSERT_TRUE(critic_stub_->Score(Context().get(), score, &scored).ok());
  EXPECT_NEAR(scored.like_probability(0), response.loops(0).score(), 1e-6);

  // Same seed: same loops. Avoiding them: none comes back.
  v1::SampleResponse again;
  ASSERT_TRUE(stub_->Sample(Context().get(), request, &again).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(again.loops(i).fingerprint(), response.loops(i).fingerprint());
    request.add_avoid_fingerprints(response.loops(i).fingerprint());
  }
  v1::SampleResponse avoiding;
  ASSERT_TRUE(stub_->Sample(Context().get(), request, &avoiding).ok());
  for (const v1::SampledLoop& loop : avoiding.loops()) {
    EXPECT_FALSE(fingerprints.contains(loop.fingerprint()));
  }
}

TEST_F(GeneratorServiceTest, ThresholdModeWithAnUntrainedCriticIsCapped) {
  v1::SampleResponse response;
  ASSERT_TRUE(
      stub_->Sample(Context().get(), Request(v1::SAMPLING_MODE_THRESHOLD, 2, 1), &response).ok());
  ASSERT_EQ(response.loops_size(), 2);
  for (const v1::SampledLoop& loop : response.loops()) {
    // An untrained critic scores about 0.5 everywhere: 0.95 is out of reach.
    EXPECT_TRUE(loop.capped());
    EXPECT_FALSE(loop.threshold_reached());
    EXPECT_LT(loop.score(), 0.95);
    EXPECT_EQ(loop.steps_taken(), 10u);
  }
  v1::SampleRequest reachable = Request(v1::SAMPLING_MODE_HILL_CLIMB, 1, 1);
  reachable.mutable_sampler()->set_threshold(0.0);
  ASSERT_TRUE(stub_->Sample(Context().get(), reachable, &response).ok());
  EXPECT_TRUE(response.loops(response.loops_size() - 1).threshold_reached());
}

TEST_F(GeneratorServiceTest, StreamsOneMessagePerLoop) {
  auto context = Context();
  auto reader = stub_->SampleStream(context.get(), Request(v1::SAMPLING_MODE_METROPOLIS, 4, 2));
  v1::SampledLoop loop;
  int received = 0;
  while (reader->Read(&loop))
    ++received;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(received, 4);
}

TEST_F(GeneratorServiceTest, StopsPromptlyAtTheDeadline) {
  v1::SampleRequest request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.mutable_sampler()->set_min_steps(100000);
  v1::SampleResponse response;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status =
      stub_->Sample(Context(std::chrono::milliseconds(500)).get(), request, &response);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(seconds, 5.0);  // A bound for "it stopped", not a speed target.
  // The generator gave up too, instead of sampling on: a follow-up call is served at once.
  EXPECT_TRUE(
      stub_->Sample(Context().get(), Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1), &response).ok());
}

// dd-generator's own request bound (4 MiB) holds its largest valid request, one that avoids
// 100,000 loops, and refuses larger ones.
TEST_F(GeneratorServiceTest, TakesItsLargestValidRequestAndRefusesLargerOnes) {
  v1::SampleRequest largest = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  largest.set_validate_only(true);
  for (int i = 0; i < 100000; ++i)
    largest.add_avoid_fingerprints(absl::StrFormat("%016x", i));
  EXPECT_EQ(Code(largest), grpc::StatusCode::OK);
  largest.add_avoid_fingerprints(absl::StrFormat("%016x", 100000));
  EXPECT_EQ(Code(largest), grpc::StatusCode::INVALID_ARGUMENT);

  v1::SampleRequest oversized = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  oversized.set_critic_id(std::string(5 << 20, 'c'));
  v1::SampleResponse response;
  const grpc::Status status = stub_->Sample(Context().get(), oversized, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(status.error_message(), " vs. 4194304)")) << status.error_message();
}

// The process's peak resident memory (VmHWM), in bytes; -1 when unreadable.
int64_t PeakResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    int64_t kib = 0;
    if (std::sscanf(line.c_str(), "VmHWM: %" SCNd64 " kB", &kib) == 1) return kib * 1024;
  }
  return -1;
}

// gRPC reads a request whole before it checks the size limit (grpc/grpc#43012): a 300 MB
// request made a server hold 300 MB however small its limit. --max_request_memory_bytes
// resets it on the way.
TEST_F(GeneratorServiceTest, ARequestPastTheMemoryBoundIsResetNotHeld) {
  constexpr int64_t kRequestBytes = 300 << 20;
  dd::testing::ServiceProcess bounded(DD_GENERATOR_BIN,
                                      {"--critic=" + critic_->address(), "--log_level=warning",
                                       "--samples=" + dd::testing::DefaultKitDir().string(),
                                       absl::StrCat("--max_request_memory_bytes=", 32 << 20)});
  ASSERT_NE(bounded.port(), 0);
  v1::SampleRequest flood = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  flood.set_critic_id(std::string(kRequestBytes, 'c'));
  v1::SampleResponse response;
  const grpc::Status status =
      v1::GeneratorService::NewStub(bounded.channel())->Sample(Context().get(), flood, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  const int64_t peak = PeakResidentBytes(bounded.pid());
  ASSERT_GT(peak, 0);
  EXPECT_LT(peak, kRequestBytes / 2) << "the server held the request";
  // It serves on.
  v1::SampleRequest check = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  check.set_validate_only(true);
  EXPECT_TRUE(v1::GeneratorService::NewStub(bounded.channel())
                  ->Sample(Context().get(), check, &response)
                  .ok());
}

// A generator with --max_concurrent_calls=1 runs one Sample call at a time: others wait
// --admission_wait, then are refused with the limit named, while health checks still answer.
TEST_F(GeneratorServiceTest, CallsBeyondTheLimitAreRefusedWhileHealthAnswers) {
  dd::testing::ServiceProcess limited(DD_GENERATOR_BIN,
                                      {"--critic=" + critic_->address(), "--log_level=warning",
                                       "--samples=" + dd::testing::DefaultKitDir().string(),
                                       "--max_concurrent_calls=1", "--admission_wait=200ms"});
  ASSERT_NE(limited.port(), 0);
  auto stub = v1::GeneratorService::NewStub(limited.channel());
  std::atomic<bool> long_call_done{false};
  std::thread long_call([&] {
    v1::SampleRequest endless = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
    endless.mutable_sampler()->set_min_steps(100000);
    v1::SampleResponse ignored;
    stub->Sample(Context(std::chrono::seconds(3)).get(), endless, &ignored);
    long_call_done = true;
  });
  grpc::Status refusal;
  while (!long_call_done && refusal.ok()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    v1::SampleResponse response;
    grpc::Status status =
        stub->Sample(Context().get(), Request(v1::SAMPLING_MODE_METROPOLIS, 1, 2), &response);
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      refusal = status;
      auto health = grpc::health::v1::Health::NewStub(limited.channel());
      grpc::health::v1::HealthCheckRequest check;
      grpc::health::v1::HealthCheckResponse serving;
      EXPECT_TRUE(health->Check(Context().get(), check, &serving).ok());
      EXPECT_EQ(serving.status(), grpc::health::v1::HealthCheckResponse::SERVING);
    }
  }
  long_call.join();
  EXPECT_EQ(refusal.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << "no call was refused while another ran";
  EXPECT_EQ(refusal.error_message().rfind("dd-generator is at its limit of 1 call at once", 0), 0u)
      << refusal.error_message();
  v1::SampleResponse response;
  EXPECT_TRUE(
      stub->Sample(Context().get(), Request(v1::SAMPLING_MODE_METROPOLIS, 1, 3), &response).ok())
      << "served again once the long call ended";
}

TEST_F(GeneratorServiceTest, BadRequestsGetClearErrors) {
  v1::SampleRequest request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.set_critic_id("");
  EXPECT_EQ(Code(request), grpc::StatusCode::INVALID_ARGUMENT);
  request.set_critic_id("00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(Code(request), grpc::StatusCode::NOT_FOUND);
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.set_critic_version(7);
  EXPECT_EQ(Code(request), grpc::StatusCode::NOT_FOUND);
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1000, 1);
  EXPECT_EQ(Code(request), grpc::StatusCode::INVALID_ARGUMENT);
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.mutable_sampler()->set_temperature(-1);
  EXPECT_EQ(Code(request), grpc::StatusCode::INVALID_ARGUMENT);
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.mutable_sampler()->set_chains(100000);
  EXPECT_EQ(Code(request), grpc::StatusCode::INVALID_ARGUMENT);
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.mutable_priors()->set_steps(65);
  EXPECT_EQ(Code(request), grpc::StatusCode::INVALID_ARGUMENT);
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.mutable_priors()->add_sample_ids("no/such.wav");
  EXPECT_EQ(Code(request), grpc::StatusCode::NOT_FOUND);
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.mutable_priors()->add_sample_folders("no-such-folder/");
  EXPECT_EQ(Code(request), grpc::StatusCode::NOT_FOUND);
  request = Request(static_cast<v1::SamplingMode>(42), 1, 1);
  EXPECT_EQ(Code(request), grpc::StatusCode::INVALID_ARGUMENT);
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.mutable_sampler()->set_cell_flip_probability(5);
  v1::SampleResponse response;
  grpc::Status flip = stub_->Sample(Context().get(), request, &response);
  EXPECT_EQ(flip.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(flip.error_message().find("sampler.cell_flip_probability must be in [0, 1], got 5"),
            std::string::npos)
      << flip.error_message();
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.mutable_priors()->set_steps(6);
  request.mutable_priors()->set_four_on_the_floor(true);
  EXPECT_EQ(Code(request), grpc::StatusCode::INVALID_ARGUMENT);
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.mutable_priors()->set_bpm(std::nan(""));
  grpc::Status bpm = stub_->Sample(Context().get(), request, &response);
  EXPECT_EQ(bpm.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bpm.error_message().rfind("priors.bpm must be in [40, 300]", 0), 0u)
      << bpm.error_message();  // The field the caller set, not the pattern library's name.
  request = Request(v1::SAMPLING_MODE_METROPOLIS, 1, 1);
  request.add_avoid_fingerprints("0123456789abcdef");
  request.add_avoid_fingerprints("5d79c0de-0000-4000-8000-000000000000");  // A loop id instead.
  grpc::Status avoid = stub_->Sample(Context().get(), request, &response);
  EXPECT_EQ(avoid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(avoid.error_message().rfind("avoid_fingerprints[1] is not a loop fingerprint", 0), 0u)
      << avoid.error_message();
}

// validate_only checks what the request asks of this generator's library without a critic: a
// session asks it before it starts, so that no session is stored that could never get a loop.
TEST_F(GeneratorServiceTest, ValidateOnlyChecksTheRequestAndSamplesNothing) {
  v1::SampleRequest request = Request(v1::SAMPLING_MODE_METROPOLIS, 5, 1);
  request.set_validate_only(true);
  request.set_critic_id("");  // No critic is consulted.
  v1::SampleResponse response;
  grpc::Status status = stub_->Sample(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.loops_size(), 0);
  EXPECT_EQ(response.distinct_loops(), std::numeric_limits<uint64_t>::max());  // 2^64 grids.
  v1::SampleRequest tiny = request;
  tiny.mutable_priors()->set_steps(2);
  tiny.mutable_priors()->set_tracks(1);
  tiny.mutable_priors()->add_sample_ids("kick/kick-deep.wav");
  tiny.mutable_priors()->add_sample_ids("harsh/buzz.wav");
  ASSERT_TRUE(stub_->Sample(Context().get(), tiny, &response).ok());
  EXPECT_EQ(response.distinct_loops(), 8u);  // 2 samples x 2^2 hit patterns.
  // More loops than the priors allow is refused at once, sampled or only validated, instead of
  // searching until a chain's step cap.
  for (const bool validate_only : {true, false}) {
    v1::SampleRequest too_many = tiny;
    too_many.set_validate_only(validate_only);
    too_many.set_critic_id(critic_id_);
    too_many.set_count(9);
    grpc::Status refused = stub_->Sample(Context().get(), too_many, &response);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(refused.error_message().find("count is 9 but the priors allow only 8 distinct loops"),
              std::string::npos)
        << refused.error_message();
    too_many.set_count(validate_only ? 8 : 2);  // Finding all 8 is up to the chains' luck.
    EXPECT_TRUE(stub_->Sample(Context().get(), too_many, &response).ok()) << validate_only;
  }
  request.mutable_priors()->add_sample_ids("no/such.wav");
  status = stub_->Sample(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("no/such.wav"), std::string::npos);
  request.mutable_priors()->clear_sample_ids();
  request.mutable_sampler()->set_sample_swap_probability(-0.5);
  EXPECT_EQ(Code(request), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(GeneratorServiceTest, ServesHealthAndRestrictsSamplesToAFolder) {
  auto health = grpc::health::v1::Health::NewStub(generator_->channel());
  grpc::health::v1::HealthCheckRequest check;
  check.set_service("deepdrummer.v1.GeneratorService");
  grpc::health::v1::HealthCheckResponse serving;
  ASSERT_TRUE(health->Check(Context().get(), check, &serving).ok());
  EXPECT_EQ(serving.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  v1::SampleRequest request = Request(v1::SAMPLING_MODE_METROPOLIS, 2, 4);
  request.mutable_priors()->add_sample_ids("kick/kick-deep.wav");
  v1::SampleResponse response;
  grpc::Status status = stub_->Sample(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (const v1::SampledLoop& loop : response.loops()) {
    for (const v1::Track& track : loop.loop().tracks())
      EXPECT_EQ(track.sample_id(), "kick/kick-deep.wav");
  }
}

}  // namespace
}  // namespace dd
