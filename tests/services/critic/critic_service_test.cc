// Runs real dd-critic workers (subprocesses, so they can be killed) against a real PostgreSQL,
// and calls them over gRPC.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "common/critic/critic_config.h"
#include "deepdrummer/v1/critic.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/postgres_server.h"
#include "tests/support/service_process.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {
namespace v1 = deepdrummer::v1;

// A dd-critic process on a free loopback port.
class Worker : public dd::testing::ServiceProcess {
 public:
  Worker(const std::string& database, std::vector<std::string> extra = {})
      : ServiceProcess(DD_CRITIC_BIN, WorkerArgs(database, std::move(extra))),
        stub_(v1::CriticService::NewStub(channel())) {}
  v1::CriticService::Stub& stub() { return *stub_; }

 private:
  static std::vector<std::string> WorkerArgs(const std::string& database,
                                             std::vector<std::string> extra) {
    std::vector<std::string> args = {"--database=" + database, "--threads=1", "--log_level=warning",
                                     "--samples=" + dd::testing::DefaultKitDir().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::unique_ptr<v1::CriticService::Stub> stub_;
};

std::unique_ptr<grpc::ClientContext> Context(int seconds = 120) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

std::string ToneClipBytes(double pitch) {
  std::vector<float> clip(critic::kClipFrames);
  for (size_t i = 0; i < clip.size(); ++i) {
    const double t = static_cast<double>(i % 11025) / critic::kClipSampleRate;
    clip[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * pitch * t) * std::exp(-10 * t));
  }
  return std::string(reinterpret_cast<const char*>(clip.data()), clip.size() * sizeof(float));
}

// A Score request for one decaying tone of `pitch` Hz.
v1::ScoreRequest OneToneScore(const std::string& critic_id, double pitch) {
  v1::ScoreRequest score;
  score.set_critic_id(critic_id);
  auto* audio = score.add_items()->mutable_audio();
  audio->set_sample_rate(44100);
  audio->set_samples_f32le(ToneClipBytes(pitch));
  return score;
}

void AddAudioExample(v1::TrainRequest& request, const std::string& id, bool liked, double pitch) {
  v1::Example* example = request.add_examples();
  example->set_example_id(id);
  example->set_rating(liked ? v1::RATING_LIKE : v1::RATING_DISLIKE);
  example->mutable_audio()->set_sample_rate(44100);
  example->mutable_audio()->set_samples_f32le(ToneClipBytes(pitch));
}

// Two likes of low tones and a dislike of a high one: versions 1 to 3 of a fresh critic.
v1::TrainRequest ThreeRatedTones(const std::string& critic_id) {
  v1::TrainRequest train;
  train.set_critic_id(critic_id);
  AddAudioExample(train, "r1", true, 60);
  AddAudioExample(train, "r2", false, 2000);
  AddAudioExample(train, "r3", true, 70);
  return train;
}

class CriticServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    database_ =
        dd::testing::SharedPostgres().CreateDatabase("critic_service_" + std::to_string(n++));
  }

  std::string CreateSmallCritic(Worker& worker, uint64_t seed = 1, uint32_t minibatches = 2) {
    v1::CreateCriticRequest request;
    request.set_owner("test");
    request.mutable_config()->set_seed(seed);
    request.mutable_config()->set_minibatches_per_rating(minibatches);
    request.mutable_config()->set_minibatch_size(4);
    v1::CreateCriticResponse response;
    grpc::Status status = worker.stub().CreateCritic(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.version(), 0u);
    EXPECT_EQ(response.config().learning_rate(), 5.739e-5);  // Defaults filled in.
    return response.critic_id();
  }

  std::vector<double> ScoreTones(Worker& worker, const std::string& id,
                                 std::optional<uint64_t> version,
                                 uint64_t* scored_version = nullptr) {
    v1::ScoreRequest request;
    request.set_critic_id(id);
    if (version) request.set_version(*version);
    for (double pitch : {60.0, 300.0, 2000.0}) {
      auto* audio = request.add_items()->mutable_audio();
      audio->set_sample_rate(44100);
      audio->set_samples_f32le(ToneClipBytes(pitch));
    }
    v1::ScoreResponse response;
    grpc::Status status = worker.stub().Score(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (scored_version) *scored_version = response.version();
    return {response.like_probability().begin(), response.like_probability().end()};
  }

  std::string database_;
};

TEST_F(CriticServiceTest, KeepsTheWeightsOfVersionZeroAndTheNewestVersionsItIsToldTo) {
  Worker worker(database_, {"--keep_version_weights=2"});
  ASSERT_NE(worker.port(), 0);
  const std::string id = CreateSmallCritic(worker);
  v1::TrainResponse trained;
  ASSERT_TRUE(worker.stub().Train(Context().get(), ThreeRatedTones(id), &trained).ok());
  ASSERT_EQ(trained.version(), 3u);

  v1::GetCriticRequest get;
  get.set_critic_id(id);
  v1::Critic critic;
  ASSERT_TRUE(worker.stub().GetCritic(Context().get(), get, &critic).ok());
  std::vector<bool> dropped;
  for (const v1::CriticVersion& version : critic.versions())
    dropped.push_back(version.weights_dropped());
  EXPECT_EQ(dropped, (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(critic.versions(1).example_id(), "r1");  // Its row stays.

  // Version 1 can no longer be scored with or snapshotted; 0, 2 and 3 can.
  v1::ScoreRequest score = OneToneScore(id, 60);
  score.set_version(1);
  v1::ScoreResponse scored;
  grpc::Status refused = worker.stub().Score(Context().get(), score, &scored);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("--keep_version_weights"), std::string::npos)
      << refused.error_message();
  v1::GetSnapshotRequest snapshot;
  snapshot.set_critic_id(id);
  snapshot.set_version(1);
  v1::CriticSnapshot state;
  EXPECT_EQ(worker.stub().GetSnapshot(Context().get(), snapshot, &state).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  for (uint64_t version : {0, 2, 3}) {
    score.set_version(version);
    grpc::Status status = worker.stub().Score(Context().get(), score, &scored);
    EXPECT_TRUE(status.ok()) << version << ": " << status.error_message();
    EXPECT_EQ(scored.version(), version);
  }
}

TEST_F(CriticServiceTest, TrainsIdempotentlyAndScoresAnyVersion) {
  Worker worker(database_);
  ASSERT_NE(worker.port(), 0);
  const std::string id = CreateSmallCritic(worker);
  const std::vector<double> untrained = ScoreTones(worker, id, std::nullopt);
  ASSERT_EQ(untrained.size(), 3u);

  const v1::TrainRequest train = ThreeRatedTones(id);
  v1::TrainResponse trained;
  ASSERT_TRUE(worker.stub().Train(Context().get(), train, &trained).ok());
  EXPECT_EQ(trained.version(), 3u);
  EXPECT_EQ(trained.examples_added(), 3u);
  EXPECT_EQ(trained.liked_count(), 2u);
  EXPECT_EQ(trained.disliked_count(), 1u);
  EXPECT_TRUE(trained.has_last_loss());

  // A retry of the same examples changes nothing.
  v1::TrainResponse retried;
  ASSERT_TRUE(worker.stub().Train(Context().get(), train, &retried).ok());
  EXPECT_EQ(retried.version(), 3u);
  EXPECT_EQ(retried.examples_added(), 0u);
  EXPECT_EQ(retried.examples_already_known(), 3u);
  // The same id with the other rating, stored or earlier in the same call, is refused: counting
  // it as known would tell the caller that rating was learned.
  v1::TrainRequest flipped;
  flipped.set_critic_id(id);
  AddAudioExample(flipped, "r4", true, 1500);
  AddAudioExample(flipped, train.examples(0).example_id(),
                  train.examples(0).rating() != v1::RATING_LIKE, 60);
  grpc::Status flip = worker.stub().Train(Context().get(), flipped, &retried);
  EXPECT_EQ(flip.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(flip.error_message().find("example_id \"" + train.examples(0).example_id() +
                                      "\" is already rated"),
            std::string::npos)
      << flip.error_message();
  v1::TrainRequest contradictory;
  contradictory.set_critic_id(id);
  AddAudioExample(contradictory, "r5", true, 1500);
  AddAudioExample(contradictory, "r5", false, 1500);
  EXPECT_EQ(worker.stub().Train(Context().get(), contradictory, &retried).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // A writer that expects an older version is refused.
  v1::TrainRequest stale;
  stale.set_critic_id(id);
  stale.set_expected_version(1);
  AddAudioExample(stale, "r4", false, 1500);
  v1::TrainResponse ignored;
  EXPECT_EQ(worker.stub().Train(Context().get(), stale, &ignored).error_code(),
            grpc::StatusCode::ABORTED);

  uint64_t scored_version = 0;
  const std::vector<double> latest = ScoreTones(worker, id, std::nullopt, &scored_version);
  EXPECT_EQ(scored_version, 3u);
  EXPECT_NE(latest, untrained);
  EXPECT_EQ(ScoreTones(worker, id, 0), untrained);  // Version 0 is kept and served.

  v1::GetCriticRequest get;
  get.set_critic_id(id);
  v1::Critic critic;
  ASSERT_TRUE(worker.stub().GetCritic(Context().get(), get, &critic).ok());
  EXPECT_EQ(critic.latest_version(), 3u);
  EXPECT_EQ(critic.parameter_count(), 291290u);
  ASSERT_EQ(critic.versions_size(), 4);
  EXPECT_EQ(critic.versions(3).example_id(), "r3");
  EXPECT_FALSE(critic.versions(1).has_mean_loss());  // Only likes so far: no training.
  EXPECT_TRUE(critic.versions(2).has_mean_loss());

  v1::GetSnapshotRequest snapshot_request;
  snapshot_request.set_critic_id(id);
  v1::CriticSnapshot snapshot;
  ASSERT_TRUE(worker.stub().GetSnapshot(Context().get(), snapshot_request, &snapshot).ok());
  EXPECT_EQ(snapshot.version(), 3u);
  EXPECT_FALSE(snapshot.model_state().empty());
  EXPECT_FALSE(snapshot.optimizer_state().empty());
}

TEST_F(CriticServiceTest, ARhythmCriticIsStoredAsSuchAndServedByAnotherWorker) {
  std::string id;
  {
    Worker first(database_);
    v1::CreateCriticRequest request;
    request.mutable_config()->set_seed(5);
    request.mutable_config()->set_minibatches_per_rating(1);
    request.mutable_config()->set_minibatch_size(2);
    request.mutable_config()->set_rhythm_branch(true);
    request.mutable_config()->set_rhythm_learning_rate(2e-3);
    v1::CreateCriticResponse created;
    ASSERT_TRUE(first.stub().CreateCritic(Context().get(), request, &created).ok());
    EXPECT_TRUE(created.config().rhythm_branch());
    id = created.critic_id();
    v1::TrainRequest train;
    train.set_critic_id(id);
    AddAudioExample(train, "a", true, 80);
    AddAudioExample(train, "b", false, 900);
    v1::TrainResponse trained;
    ASSERT_TRUE(first.stub().Train(Context().get(), train, &trained).ok());
    EXPECT_EQ(trained.version(), 2u);
  }
  Worker second(database_);
  v1::GetCriticRequest get;
  get.set_critic_id(id);
  v1::Critic critic;
  ASSERT_TRUE(second.stub().GetCritic(Context().get(), get, &critic).ok());
  EXPECT_TRUE(critic.config().rhythm_branch());
  EXPECT_EQ(critic.config().rhythm_learning_rate(), 2e-3);
  EXPECT_EQ(critic.parameter_count(), 291290u + 2848u + 4096u + 178u);
  EXPECT_EQ(ScoreTones(second, id, std::nullopt).size(), ScoreTones(second, id, 0).size());
  EXPECT_NE(ScoreTones(second, id, std::nullopt), ScoreTones(second, id, 0));
}

TEST_F(CriticServiceTest, TrainsAndScoresLoopsRenderedFromTheKit) {
  Worker worker(database_);
  const std::string id = CreateSmallCritic(worker);
  v1::TrainRequest train;
  train.set_critic_id(id);
  for (int i = 0; i < 2; ++i) {
    v1::Example* example = train.add_examples();
    example->set_example_id("loop" + std::to_string(i));
    example->set_rating(i == 0 ? v1::RATING_LIKE : v1::RATING_DISLIKE);
    v1::DrumLoop* loop = example->mutable_loop();
    loop->set_steps(16);
    loop->set_bpm(120);
    v1::Track* track = loop->add_tracks();
    track->set_sample_id(i == 0 ? "kick/kick-boom.wav" : "harsh/buzz.wav");
    for (int s = 0; s < 16; ++s)
      track->add_hits(s % 4 == 0);
  }
  v1::TrainResponse trained;
  grpc::Status status = worker.stub().Train(Context().get(), train, &trained);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(trained.version(), 2u);

  // Callers resend every rating with each Train. A worker whose library has lost a sample of a
  // loop already learned skips that loop instead of failing every Train (and so stalling each
  // session that rated it) on rendering it again; a new loop of that sample is still NOT_FOUND.
  dd::testing::TempDir kit;
  std::filesystem::copy(dd::testing::DefaultKitDir(), kit.path(),
                        std::filesystem::copy_options::recursive);
  ASSERT_TRUE(std::filesystem::remove(kit.path() / "harsh/buzz.wav"));
  Worker without_buzz(database_, {"--samples=" + kit.path().string()});
  v1::TrainRequest again = train;
  v1::Example* next = again.add_examples();
  *next = train.examples(0);
  next->set_example_id("loop2");
  status = without_buzz.stub().Train(Context().get(), again, &trained);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(trained.version(), 3u);
  EXPECT_EQ(trained.examples_added(), 1u);
  EXPECT_EQ(trained.examples_already_known(), 2u);
  v1::TrainRequest lost = again;
  lost.mutable_examples(1)->set_example_id("loop3");
  EXPECT_EQ(without_buzz.stub().Train(Context().get(), lost, &trained).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// A one-track loop of the default kit: `sample_id` on every `every`-th step.
void SetLoop(v1::DrumLoop* loop, const std::string& sample_id, int every) {
  loop->set_steps(16);
  loop->set_bpm(120);
  v1::Track* track = loop->add_tracks();
  track->set_sample_id(sample_id);
  for (int s = 0; s < 16; ++s)
    track->add_hits(s % every == 0);
}

// With --render_helpers a call's loops are rendered on several threads: the same scores as a
// worker that renders them one by one, and with several bad items the error names the first.
TEST_F(CriticServiceTest, LoopsRenderedOnHelperThreadsScoreAsOnTheCallsOwn) {
  Worker plain(database_);
  Worker helped(database_, {"--render_helpers=2"});
  ASSERT_NE(helped.port(), 0);
  const std::string id = CreateSmallCritic(plain);
  const std::vector<std::string> kit = {"kick/kick-boom.wav", "harsh/buzz.wav",
                                        "kick/kick-deep.wav"};
  v1::ScoreRequest score;
  score.set_critic_id(id);
  for (int i = 0; i < 12; ++i)
    SetLoop(score.add_items()->mutable_loop(), kit[static_cast<size_t>(i) % kit.size()], 1 + i % 5);
  v1::ScoreResponse by_plain, by_helped;
  ASSERT_TRUE(plain.stub().Score(Context().get(), score, &by_plain).ok());
  grpc::Status status = helped.stub().Score(Context().get(), score, &by_helped);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(by_helped.like_probability_size(), 12);
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(by_helped.like_probability(i), by_plain.like_probability(i)) << "item " << i;
  EXPECT_NE(by_helped.like_probability(0), by_helped.like_probability(1));

  v1::ScoreRequest two_bad = score;
  two_bad.mutable_items(9)->mutable_loop()->mutable_tracks(0)->set_sample_id("nope.wav");
  two_bad.mutable_items(4)->mutable_loop()->set_bpm(5);
  status = helped.stub().Score(Context().get(), two_bad, &by_helped);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("items[4]", 0), 0u) << status.error_message();

  v1::TrainRequest train;
  train.set_critic_id(id);
  for (int i = 0; i < 4; ++i) {
    v1::Example* example = train.add_examples();
    example->set_example_id("e" + std::to_string(i));
    example->set_rating(i % 2 == 0 ? v1::RATING_LIKE : v1::RATING_DISLIKE);
    SetLoop(example->mutable_loop(), kit[static_cast<size_t>(i) % kit.size()], 4);
  }
  v1::TrainRequest bad_train = train;
  bad_train.mutable_examples(3)->mutable_loop()->set_bpm(5);
  bad_train.mutable_examples(1)->mutable_loop()->mutable_tracks(0)->set_sample_id("nope.wav");
  v1::TrainResponse trained;
  status = helped.stub().Train(Context().get(), bad_train, &trained);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message().rfind("examples[1]", 0), 0u) << status.error_message();
  // A field wrong in itself is found before any loop is rendered.
  bad_train.mutable_examples(2)->set_rating(v1::RATING_UNSPECIFIED);
  status = helped.stub().Train(Context().get(), bad_train, &trained);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("examples[2]: rating", 0), 0u) << status.error_message();
  status = helped.stub().Train(Context().get(), train, &trained);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(trained.version(), 4u);

  Worker too_many(database_, {"--render_helpers=64"});
  EXPECT_EQ(too_many.port(), 0) << "64 render helpers, beyond the 63 allowed";
}

// A worker with --max_concurrent_calls=1 trains one critic at a time: a Score call that arrives
// while it trains waits --admission_wait, then is refused with the limit named; the training is
// unharmed and the worker scores again once it is done. Bad limits stop the worker at start-up.
TEST_F(CriticServiceTest, CallsBeyondTheWorkersLimitAreRefusedAndTheRunningOneFinishes) {
  // A call waits 250 ms for the slot: long enough for a Train arriving during a Score probe
  // (milliseconds) to get in, far shorter than the training.
  Worker worker(database_, {"--max_concurrent_calls=1", "--admission_wait=250ms"});
  ASSERT_NE(worker.port(), 0);
  // The paper's training per rating (not the small test critic's) on six ratings, five of which
  // train: seconds of training (0.4-1.6 s a round on this project's machine).
  v1::CreateCriticRequest create;
  create.set_owner("test");
  create.mutable_config()->set_seed(7);
  v1::CreateCriticResponse created;
  ASSERT_TRUE(worker.stub().CreateCritic(Context().get(), create, &created).ok());
  const std::string id = created.critic_id();

  grpc::Status train_status;
  std::atomic<bool> training_done{false};
  std::thread trainer([&] {
    v1::TrainResponse trained;
    v1::TrainRequest six = ThreeRatedTones(id);
    AddAudioExample(six, "r4", false, 1800);
    AddAudioExample(six, "r5", true, 80);
    AddAudioExample(six, "r6", false, 2500);
    train_status = worker.stub().Train(Context().get(), six, &trained);
    training_done = true;
  });
  grpc::Status refusal;
  while (!training_done && refusal.ok()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    v1::ScoreResponse scored;
    grpc::Status status = worker.stub().Score(Context().get(), OneToneScore(id, 60), &scored);
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) refusal = status;
  }
  trainer.join();
  ASSERT_TRUE(train_status.ok()) << train_status.error_message();
  EXPECT_EQ(refusal.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << "no Score call was refused while the worker trained";
  EXPECT_EQ(refusal.error_message().rfind("dd-critic is at its limit of 1 call at once", 0), 0u)
      << refusal.error_message();
  uint64_t version = 0;
  EXPECT_EQ(ScoreTones(worker, id, std::nullopt, &version).size(), 3u);
  EXPECT_EQ(version, 6u);

  Worker negative(database_, {"--max_concurrent_calls=-1"});
  EXPECT_EQ(negative.port(), 0) << "a negative limit";
}

// With --metrics_port a worker serves its calls and its own work: training rounds, scoring
// batches (clips and time) and critics loaded from the database.
TEST_F(CriticServiceTest, ServesMetricsOfItsCallsAndItsWork) {
  const int metrics_port = dd::testing::FreeLoopbackPort();
  Worker worker(database_, {"--metrics_port=" + std::to_string(metrics_port)});
  ASSERT_NE(worker.port(), 0);
  const std::string id = CreateSmallCritic(worker);
  v1::TrainResponse trained;
  ASSERT_TRUE(worker.stub().Train(Context().get(), ThreeRatedTones(id), &trained).ok());
  ASSERT_EQ(ScoreTones(worker, id, std::nullopt).size(), 3u);

  httplib::Client scraper("127.0.0.1", metrics_port);
  auto scraped = scraper.Get("/metrics");
  ASSERT_TRUE(scraped) << "no metrics on port " << metrics_port;
  for (const std::string& line : {
           std::string("critic_training_round_seconds_count 3"),
           std::string("critic_score_batch_clips_count 1"),
           std::string("critic_score_batch_clips_sum 3"),
           std::string("critic_score_batch_seconds_count 1"),
           std::string(R"(critic_loads_total{purpose="score"} 1)"),
           std::string("db_transaction_retries_total 0"),
           std::string(R"(grpc_server_handled_total{grpc_type="unary",)") +
               R"(grpc_service="deepdrummer.v1.CriticService",grpc_method="Train",)" +
               R"(grpc_code="OK"} 1)",
       }) {
    EXPECT_NE(scraped->body.find(line + "\n"), std::string::npos) << line << "\n" << scraped->body;
  }
}

// A worker's cached critics are bounded by the memory they hold, not only by their number: a
// critic keeps every rated clip (353 KB each), so 64 critics of long sessions held tens of GB.
// Under a bound smaller than two critics the one trained least recently is dropped, and training
// it again loads it from the database; under the default bound both stay.
TEST_F(CriticServiceTest, CachedCriticsAreBoundedByTheMemoryTheyHold) {
  const auto train_loads = [&](const std::vector<std::string>& flags) {
    const int metrics_port = dd::testing::FreeLoopbackPort();
    std::vector<std::string> args = flags;
    args.push_back("--metrics_port=" + std::to_string(metrics_port));
    Worker worker(database_, args);
    EXPECT_NE(worker.port(), 0);
    const std::string first = CreateSmallCritic(worker, 1);
    const std::string second = CreateSmallCritic(worker, 2);
    for (const std::string& id : {first, second, first}) {  // The last trains on nothing new.
      v1::TrainResponse trained;
      const grpc::Status status =
          worker.stub().Train(Context().get(), ThreeRatedTones(id), &trained);
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(trained.version(), 3u);
    }
    httplib::Client scraper("127.0.0.1", metrics_port);
    auto scraped = scraper.Get("/metrics");
    EXPECT_TRUE(scraped) << "no metrics on port " << metrics_port;
    if (!scraped) return std::make_pair(std::string(), std::string());
    const auto value_of = [&](const std::string& name) {
      const size_t at = scraped->body.find("\n" + name + " ");
      if (at == std::string::npos) return std::string("missing");
      const size_t from = at + name.size() + 2;
      return scraped->body.substr(from, scraped->body.find('\n', from) - from);
    };
    return std::make_pair(value_of(R"(critic_loads_total{purpose="train"})"),
                          value_of("critic_cache_bytes"));
  };
  // A critic of 3 clips holds 3 x 352,800 bytes and its weights three times over (~3.5 MB).
  const auto [bounded_loads, bounded_bytes] = train_loads({"--cache_mib=1"});
  EXPECT_EQ(bounded_loads, "3");
  const auto [default_loads, default_bytes] = train_loads({});
  EXPECT_EQ(default_loads, "2");
  // What the gauge reports: one critic under the bound, both under the default.
  ASSERT_NE(bounded_bytes, "missing");
  ASSERT_NE(default_bytes, "missing");
  EXPECT_GT(std::stoll(bounded_bytes), 3 * 352800);
  EXPECT_EQ(std::stoll(default_bytes), 2 * std::stoll(bounded_bytes));
}

TEST_F(CriticServiceTest, ADeletedCriticIsServedByNoWorker) {
  const int metrics_port = dd::testing::FreeLoopbackPort();
  Worker deleting(database_, {"--metrics_port=" + std::to_string(metrics_port)});
  Worker other(database_);
  ASSERT_NE(deleting.port(), 0);
  ASSERT_NE(other.port(), 0);
  const std::string id = CreateSmallCritic(deleting);
  v1::TrainResponse trained;
  ASSERT_TRUE(deleting.stub().Train(Context().get(), ThreeRatedTones(id), &trained).ok());
  // Both workers now hold the trainable critic or score copies of versions 0 and 3.
  for (Worker* worker : {&deleting, &other}) {
    EXPECT_EQ(ScoreTones(*worker, id, 0).size(), 3u);
    EXPECT_EQ(ScoreTones(*worker, id, 3).size(), 3u);
  }
  EXPECT_EQ(ScoreTones(other, id, std::nullopt).size(), 3u);

  v1::DeleteCriticRequest erase;
  erase.set_critic_id(id);
  v1::DeleteCriticResponse erased;
  ASSERT_TRUE(deleting.stub().DeleteCritic(Context().get(), erase, &erased).ok());
  EXPECT_EQ(erased.versions_deleted(), 4u);
  EXPECT_EQ(erased.examples_deleted(), 3u);

  const auto score = [&](Worker& worker, std::optional<uint64_t> version) {
    v1::ScoreRequest request = OneToneScore(id, 60);
    if (version) request.set_version(*version);
    v1::ScoreResponse ignored;
    return worker.stub().Score(Context().get(), request, &ignored);
  };
  const auto expect_gone = [&](Worker& worker, std::optional<uint64_t> version) {
    const grpc::Status status = score(worker, version);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
        << "version " << version.value_or(-1) << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(id), std::string::npos) << status.error_message();
  };
  // The worker that deleted it answers from no copy, at once.
  for (std::optional<uint64_t> version : {std::optional<uint64_t>(0), {3}, {}})
    expect_gone(deleting, version);
  v1::TrainResponse ignored;
  EXPECT_EQ(deleting.stub().Train(Context().get(), ThreeRatedTones(id), &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);
  httplib::Client scraper("127.0.0.1", metrics_port);
  auto scraped = scraper.Get("/metrics");
  ASSERT_TRUE(scraped);
  EXPECT_NE(scraped->body.find("\ncritic_cache_bytes 0\n"), std::string::npos) << scraped->body;
  // Another worker's copies go at its next sweep, a second apart (allowing here for a slow
  // machine); the sweep reads the database, the Score calls meanwhile do not wait for it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (score(other, 3).ok() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (std::optional<uint64_t> version : {std::optional<uint64_t>(0), {3}, {}})
    expect_gone(other, version);
}

TEST_F(CriticServiceTest, BadRequestsGetClearErrorsAndChangeNothing) {
  Worker worker(database_, {"--max_batch=4"});
  const std::string id = CreateSmallCritic(worker);
  auto code = [&](const v1::TrainRequest& request) {
    v1::TrainResponse response;
    return worker.stub().Train(Context().get(), request, &response).error_code();
  };
  v1::TrainRequest unknown;
  unknown.set_critic_id("00000000-0000-0000-0000-000000000000");
  AddAudioExample(unknown, "x", true, 60);
  EXPECT_EQ(code(unknown), grpc::StatusCode::NOT_FOUND);
  v1::TrainRequest malformed = unknown;
  malformed.set_critic_id("not-a-uuid");
  EXPECT_EQ(code(malformed), grpc::StatusCode::INVALID_ARGUMENT);
  // Quoted whole, an id of 10 KB made a status the client's header limit refused.
  malformed.set_critic_id(std::string(10000, 'c'));
  EXPECT_EQ(code(malformed), grpc::StatusCode::INVALID_ARGUMENT);
  v1::TrainRequest short_audio;
  short_audio.set_critic_id(id);
  AddAudioExample(short_audio, "x", true, 60);
  short_audio.mutable_examples(0)->mutable_audio()->mutable_samples_f32le()->resize(1000);
  EXPECT_EQ(code(short_audio), grpc::StatusCode::INVALID_ARGUMENT);
  // One sample that is not a number would make every weight NaN in the next training round, and
  // that version would be stored; an infinite one does the same through the power spectrum, and
  // one far enough beyond full scale would too (the bound is 1e6).
  for (const float bad :
       {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity(), 3e7f}) {
    v1::TrainRequest poisoned;
    poisoned.set_critic_id(id);
    AddAudioExample(poisoned, "ok", true, 60);
    AddAudioExample(poisoned, "poisoned", false, 90);
    std::string& bytes = *poisoned.mutable_examples(1)->mutable_audio()->mutable_samples_f32le();
    std::memcpy(bytes.data() + 1234 * sizeof(float), &bad, sizeof bad);
    v1::TrainResponse response;
    grpc::Status status = worker.stub().Train(Context().get(), poisoned, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(status.error_message().find("examples[1]: audio sample 1234"), std::string::npos)
        << status.error_message();
  }
  v1::TrainRequest no_rating;
  no_rating.set_critic_id(id);
  AddAudioExample(no_rating, "x", true, 60);
  no_rating.mutable_examples(0)->set_rating(v1::RATING_UNSPECIFIED);
  EXPECT_EQ(code(no_rating), grpc::StatusCode::INVALID_ARGUMENT);
  // libpq cuts a parameter at a NUL, so "x\0y" would pass for a stored "x" and be skipped as
  // known; an id too long for its index entry was an INTERNAL database error.
  for (const std::string& bad_id : {std::string("x\0y", 3), std::string(201, 'k')}) {
    v1::TrainRequest unstorable_id;
    unstorable_id.set_critic_id(id);
    AddAudioExample(unstorable_id, "fine", true, 60);
    AddAudioExample(unstorable_id, bad_id, false, 90);
    v1::TrainResponse response;
    grpc::Status status = worker.stub().Train(Context().get(), unstorable_id, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("examples[1].example_id"), std::string::npos)
        << status.error_message();
  }

  v1::ScoreRequest empty;
  empty.set_critic_id(id);
  v1::ScoreResponse scored;
  EXPECT_EQ(worker.stub().Score(Context().get(), empty, &scored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ScoreRequest oversized = empty;
  for (int i = 0; i < 5; ++i) {
    oversized.add_items()->mutable_audio()->set_sample_rate(44100);
  }
  grpc::Status too_many = worker.stub().Score(Context().get(), oversized, &scored);
  EXPECT_EQ(too_many.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(too_many.error_message().find("at most 4"), std::string::npos)
      << too_many.error_message();
  v1::ScoreRequest infinite = OneToneScore(id, 100);
  const float inf = std::numeric_limits<float>::infinity();
  std::memcpy(infinite.mutable_items(0)->mutable_audio()->mutable_samples_f32le()->data(), &inf,
              sizeof inf);
  grpc::Status not_finite = worker.stub().Score(Context().get(), infinite, &scored);
  EXPECT_EQ(not_finite.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(not_finite.error_message().find("items[0]: audio sample 0"), std::string::npos)
      << not_finite.error_message();
  v1::ScoreRequest missing_version;
  missing_version.set_critic_id(id);
  missing_version.set_version(7);
  auto* audio = missing_version.add_items()->mutable_audio();
  audio->set_sample_rate(44100);
  audio->set_samples_f32le(ToneClipBytes(100));
  EXPECT_EQ(worker.stub().Score(Context().get(), missing_version, &scored).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::CreateCriticRequest bad_config;
  bad_config.mutable_config()->set_rhythm_learning_rate(-1);
  v1::CreateCriticResponse not_created;
  grpc::Status rejected = worker.stub().CreateCritic(Context().get(), bad_config, &not_created);
  EXPECT_EQ(rejected.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(rejected.error_message().find("rhythm_learning_rate"), std::string::npos)
      << rejected.error_message();
  // A count is reported as sent, not as what it would have become as the critic's int.
  v1::CreateCriticRequest huge_count;
  huge_count.mutable_config()->set_minibatches_per_rating(100001);
  rejected = worker.stub().CreateCritic(Context().get(), huge_count, &not_created);
  EXPECT_EQ(rejected.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rejected.error_message(), "minibatches_per_rating must be in [0, 1000], got 100001");
  huge_count.mutable_config()->set_minibatches_per_rating(4294967295u);
  rejected = worker.stub().CreateCritic(Context().get(), huge_count, &not_created);
  EXPECT_EQ(rejected.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rejected.error_message(),
            "minibatches_per_rating must be in [0, 1000], got 4294967295");
  v1::CreateCriticRequest long_owner;
  long_owner.set_owner(std::string(201, 'o'));
  rejected = worker.stub().CreateCritic(Context().get(), long_owner, &not_created);
  EXPECT_EQ(rejected.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(rejected.error_message().find("owner is 201 bytes long"), std::string::npos)
      << rejected.error_message();

  v1::GetCriticRequest get;
  get.set_critic_id(id);
  v1::Critic critic;
  ASSERT_TRUE(worker.stub().GetCritic(Context().get(), get, &critic).ok());
  EXPECT_EQ(critic.latest_version(), 0u);  // Nothing was half-written.

  grpc::health::v1::HealthCheckRequest health_request;
  health_request.set_service("deepdrummer.v1.CriticService");
  grpc::health::v1::HealthCheckResponse health;
  auto health_stub = grpc::health::v1::Health::NewStub(worker.channel());
  ASSERT_TRUE(health_stub->Check(Context().get(), health_request, &health).ok());
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  const int exit_status = worker.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0);
}

// A stored state that loads but does not fit the network (a rhythm critic's weights under a paper
// critic, standing in for any failure LibTorch reports while running, such as a GPU out of
// memory): Train and Score get INTERNAL with LibTorch's reason instead of ending the worker,
// nothing of the failed Train is stored, and the worker goes on serving other critics.
TEST_F(CriticServiceTest, AFailureWhileRunningIsAnErrorNotACrash) {
  std::string broken, rhythm;
  {
    Worker creator(database_);
    broken = CreateSmallCritic(creator, 1);
    v1::CreateCriticRequest request;
    request.mutable_config()->set_rhythm_branch(true);
    v1::CreateCriticResponse created;
    ASSERT_TRUE(creator.stub().CreateCritic(Context().get(), request, &created).ok());
    rhythm = created.critic_id();
  }
  {
    pqxx::connection connection(dd::testing::SharedPostgres().ConnectionString(database_));
    pqxx::work tx(connection);
    tx.exec0(
        "UPDATE critic.versions SET model_state = (SELECT model_state FROM critic.versions "
        "WHERE critic_id = " +
        tx.quote(rhythm) + " AND version = 0) WHERE critic_id = " + tx.quote(broken) +
        " AND version = 0");
    tx.commit();
  }
  Worker worker(database_);  // A fresh cache: it loads the state from the database.
  v1::TrainResponse trained;
  const grpc::Status train =
      worker.stub().Train(Context().get(), ThreeRatedTones(broken), &trained);
  EXPECT_EQ(train.error_code(), grpc::StatusCode::INTERNAL) << train.error_message();
  EXPECT_NE(train.error_message().find("training failed"), std::string::npos)
      << train.error_message();
  EXPECT_EQ(train.error_message().find("frame #"), std::string::npos)
      << "the message carries a C++ backtrace: " << train.error_message();
  v1::GetCriticRequest get;
  get.set_critic_id(broken);
  v1::Critic critic;
  ASSERT_TRUE(worker.stub().GetCritic(Context().get(), get, &critic).ok());
  EXPECT_EQ(critic.latest_version(), 0u);
  EXPECT_EQ(critic.versions_size(), 1);

  v1::ScoreResponse scored;
  const grpc::Status scoring =
      worker.stub().Score(Context().get(), OneToneScore(broken, 100), &scored);
  EXPECT_EQ(scoring.error_code(), grpc::StatusCode::INTERNAL) << scoring.error_message();
  EXPECT_NE(scoring.error_message().find("scoring failed"), std::string::npos)
      << scoring.error_message();

  const std::string healthy = CreateSmallCritic(worker, 2);
  ASSERT_TRUE(worker.stub().Train(Context().get(), ThreeRatedTones(healthy), &trained).ok());
  EXPECT_EQ(trained.version(), 3u);
  EXPECT_EQ(ScoreTones(worker, healthy, std::nullopt).size(), 3u);
}

// Acceptance: kill a worker between two Train calls, and during one; a fresh worker serves the
// critic at the right version, with the same weights.
TEST_F(CriticServiceTest, AFreshWorkerServesTheCriticAfterOneIsKilled) {
  std::string id;
  std::vector<double> scores_v3;
  {
    Worker first(database_);
    id = CreateSmallCritic(first);
    v1::TrainResponse trained;
    ASSERT_TRUE(first.stub().Train(Context().get(), ThreeRatedTones(id), &trained).ok());
    ASSERT_EQ(trained.version(), 3u);
    scores_v3 = ScoreTones(first, id, 3);
    first.Kill(SIGKILL);
  }
  Worker second(database_);
  uint64_t version = 0;
  EXPECT_EQ(ScoreTones(second, id, std::nullopt, &version), scores_v3);
  EXPECT_EQ(version, 3u);

  // Now kill it in the middle of a long training round (many minibatches).
  {
    v1::TrainRequest slow;
    slow.set_critic_id(id);
    for (int i = 0; i < 20; ++i)
      AddAudioExample(slow, "slow" + std::to_string(i), i % 2, 100 + i);
    std::thread call([&] {
      v1::TrainResponse ignored;
      second.stub().Train(Context().get(), slow, &ignored);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    second.Kill(SIGKILL);
    call.join();
  }
  Worker third(database_);
  v1::GetCriticRequest get;
  get.set_critic_id(id);
  v1::Critic critic;
  ASSERT_TRUE(third.stub().GetCritic(Context().get(), get, &critic).ok());
  // All or nothing: the killed call committed its 20 versions or none of them.
  EXPECT_TRUE(critic.latest_version() == 3u || critic.latest_version() == 23u)
      << critic.latest_version();
  v1::TrainRequest next;
  next.set_critic_id(id);
  AddAudioExample(next, "r4", false, 1800);
  v1::TrainResponse trained;
  ASSERT_TRUE(third.stub().Train(Context().get(), next, &trained).ok());
  EXPECT_EQ(trained.version(), critic.latest_version() + 1);
  EXPECT_EQ(trained.liked_count() + trained.disliked_count(), trained.version());
}

}  // namespace
}  // namespace dd
