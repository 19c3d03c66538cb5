// The session service with every other service running for real: full two-phase sessions, kills
// of the session service and of a critic worker, and the error cases, each checked against what
// PostgreSQL holds afterwards.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "common/storage/pg_pool.h"
#include "common/storage/session_repository.h"
#include "deepdrummer/v1/critic.grpc.pb.h"
#include "tests/services/session/session_stack.h"

namespace dd {
namespace {
namespace v1 = deepdrummer::v1;

std::unique_ptr<grpc::ClientContext> Context(int seconds = 120) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

// A listener with a simple, fixed taste: likes loops whose first track plays on the downbeat.
bool ScriptedRaterLikes(const v1::DrumLoop& loop) {
  return loop.tracks_size() > 0 && loop.tracks(0).hits_size() > 0 && loop.tracks(0).hits(0);
}

// Small but complete: the paper's 80 + 30 + 30 loops, a critic that trains cheaply, short chains.
v1::SessionOptions FastOptions(uint32_t phase1 = 80, uint32_t phase2 = 30) {
  v1::SessionOptions options;
  options.set_phase1_loops(phase1);
  options.set_phase2_loops_per_critic(phase2);
  options.set_seed(17);
  options.mutable_critic()->set_minibatches_per_rating(1);
  options.mutable_critic()->set_minibatch_size(2);
  options.mutable_sampler()->set_min_steps(4);
  options.mutable_sampler()->set_max_steps(6);
  return options;
}

class SessionServiceTest : public ::testing::Test {
 protected:
  // The critic keeps the fewest versions' weights it allows, so every test here also checks
  // that the protocol (a critic lag included) only ever needs version 0 and the newest two.
  static void SetUpTestSuite() {
    dd::testing::SessionStackOptions options;
    options.critic_flags = {"--keep_version_weights=2"};
    stack_ = new dd::testing::SessionStack("session_service", options);
  }
  static void TearDownTestSuite() { delete stack_; }
  void SetUp() override { ASSERT_TRUE(stack_->up()); }

  std::string NewUser() {
    v1::CreateUserRequest request;
    request.set_display_name("listener");
    v1::User user;
    EXPECT_TRUE(stack_->session().CreateUser(Context().get(), request, &user).ok());
    return user.user_id();
  }

  v1::Session Start(const std::string& user_id, const v1::SessionOptions& options) {
    v1::StartSessionRequest request;
    request.set_user_id(user_id);
    *request.mutable_options() = options;
    v1::Session session;
    grpc::Status status = stack_->session().StartSession(Context().get(), request, &session);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return session;
  }

  // NextLoop, retried while a dependency is being restarted.
  v1::NextLoopResponse Next(const std::string& session_id, grpc::Status* last = nullptr) {
    v1::NextLoopRequest request;
    request.set_session_id(session_id);
    request.set_audio_delivery(v1::AUDIO_DELIVERY_REFERENCE);
    v1::NextLoopResponse response;
    grpc::Status status;
    for (int attempt = 0; attempt < 20; ++attempt) {
      status = stack_->session().NextLoop(Context().get(), request, &response);
      if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (last != nullptr) *last = status;
    EXPECT_TRUE(last != nullptr || status.ok()) << status.error_message();
    return response;
  }

  grpc::Status Rate(const std::string& loop_id, bool like, const std::string& request_id,
                    v1::RateResponse* response = nullptr) {
    v1::RateRequest request;
    request.set_loop_id(loop_id);
    request.set_rating(like ? v1::RATING_LIKE : v1::RATING_DISLIKE);
    request.set_request_id(request_id);
    v1::RateResponse ignored;
    return stack_->session().Rate(Context().get(), request, response ? response : &ignored);
  }

  int64_t Count(const std::string& sql) { return stack_->Count(sql); }
  // Loops of the session that meet `condition` (SQL over session.loops).
  int64_t LoopsWhere(const std::string& session_id, const std::string& condition) {
    return Count("SELECT count(*) FROM session.loops WHERE session_id = '" + session_id + "' AND " +
                 condition);
  }

  static dd::testing::SessionStack* stack_;
};
dd::testing::SessionStack* SessionServiceTest::stack_ = nullptr;

TEST_F(SessionServiceTest, AFullSessionFollowsThePapersProtocol) {
  const std::string user = NewUser();
  const v1::Session session = Start(user, FastOptions());
  EXPECT_EQ(session.phase(), v1::PHASE_LEARNING);
  EXPECT_EQ(session.progress().phase1_total(), 80u);
  EXPECT_EQ(session.progress().phase2_total(), 60u);
  int liked_phase1 = 0;
  for (int i = 1; i <= 140; ++i) {
    v1::NextLoopResponse loop = Next(session.session_id());
    ASSERT_EQ(loop.position(), static_cast<uint32_t>(i));
    EXPECT_EQ(loop.phase(), i <= 80 ? v1::PHASE_LEARNING : v1::PHASE_EVALUATION);
    if (i == 1 || i == 81) {  // Asking again before rating gives the same loop.
      EXPECT_EQ(Next(session.session_id()).loop_id(), loop.loop_id());
    }
    const bool like = ScriptedRaterLikes(loop.loop());
    if (i <= 80) liked_phase1 += like;
    v1::RateResponse rated;
    ASSERT_TRUE(Rate(loop.loop_id(), like, "full-" + std::to_string(i), &rated).ok());
    EXPECT_FALSE(rated.duplicate());
  }
  grpc::Status finished;
  Next(session.session_id(), &finished);
  EXPECT_EQ(finished.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  const std::string where = "FROM session.loops WHERE session_id = '" + session.session_id() + "'";
  EXPECT_EQ(Count("SELECT count(*) " + where), 140);
  EXPECT_EQ(Count("SELECT count(*) FROM session.ratings r JOIN session.loops l USING (loop_id) "
                  "WHERE l.session_id = '" +
                  session.session_id() + "'"),
            140);
  EXPECT_EQ(Count("SELECT count(DISTINCT fingerprint) " + where), 140);  // Nothing repeated.
  EXPECT_EQ(
      LoopsWhere(session.session_id(), "phase = 2 AND source = 'initial' AND critic_version = 0"),
      30);
  EXPECT_EQ(
      LoopsWhere(session.session_id(), "phase = 2 AND source = 'final' AND critic_version = 80"),
      30);
  // Each Phase I loop came from the critic that had seen every earlier rating.
  EXPECT_EQ(Count("SELECT count(*) " + where + " AND phase = 1 AND critic_version = position - 1"),
            80);
  // Phase II is shuffled: the sources alternate at least a few times.
  EXPECT_GT(Count("SELECT count(*) FROM (SELECT source <> lag(source) OVER (ORDER BY position) AS "
                  "changed " +
                  where + " AND phase = 2) t WHERE changed"),
            5);

  v1::GetResultsRequest results_request;
  results_request.set_session_id(session.session_id());
  v1::SessionResults results;
  ASSERT_TRUE(stack_->session().GetResults(Context().get(), results_request, &results).ok());
  EXPECT_TRUE(results.complete());
  EXPECT_EQ(results.init_rated(), 30u);
  EXPECT_EQ(results.final_rated(), 30u);
  EXPECT_EQ(results.final_critic_version(), 80u);
  const int64_t init_liked = Count(
      "SELECT count(*) FROM session.ratings r JOIN session.loops l USING (loop_id) WHERE "
      "l.session_id = '" +
      session.session_id() + "' AND l.source = 'initial' AND r.liked");
  EXPECT_EQ(results.init_liked(), static_cast<uint32_t>(init_liked));
  EXPECT_DOUBLE_EQ(results.theta_init(), init_liked / 30.0);
  EXPECT_DOUBLE_EQ(results.delta(), results.theta_final() - results.theta_init());
  EXPECT_DOUBLE_EQ(results.phase1_like_rate(), liked_phase1 / 80.0);

  v1::ExportSessionRequest export_request;
  export_request.set_session_id(session.session_id());
  v1::ExportSessionResponse exported;
  ASSERT_TRUE(stack_->session().ExportSession(Context().get(), export_request, &exported).ok());
  size_t loops_in_json = 0;
  for (size_t at = exported.json_document().find("\"loop_id\""); at != std::string::npos;
       at = exported.json_document().find("\"loop_id\"", at + 1)) {
    ++loops_in_json;
  }
  EXPECT_EQ(loops_in_json, 140u);
  EXPECT_NE(exported.json_document().find("\"theta_final\""), std::string::npos);
  // Every loop's audio (140 WAVs of 0.8 MB) does not fit a 64 MiB reply: refused with the way
  // out, not failed in gRPC's transport.
  export_request.set_include_audio(true);
  grpc::Status too_large =
      stack_->session().ExportSession(Context().get(), export_request, &exported);
  EXPECT_EQ(too_large.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(too_large.error_message().find("StreamLoopAudio"), std::string::npos)
      << too_large.error_message();
}

TEST_F(SessionServiceTest, ASessionRecordsTheValuesItRunsWithInPlaceOfUnsetOptions) {
  const std::string user = NewUser();
  const v1::Session started = Start(user, FastOptions(2, 1));  // Sets min and max steps only.
  v1::GetSessionRequest request;
  request.set_session_id(started.session_id());
  v1::Session stored;
  ASSERT_TRUE(stack_->session().GetSession(Context().get(), request, &stored).ok());
  for (const v1::Session& session : {started, stored}) {
    const v1::SessionOptions& options = session.options();
    EXPECT_EQ(options.priors().steps(), 16u);
    EXPECT_EQ(options.priors().tracks(), 4u);
    EXPECT_EQ(options.priors().bpm(), 120.0);
    EXPECT_EQ(options.priors().hit_density(), 0.5);
    EXPECT_EQ(options.sampler().min_steps(), 4u);  // What the caller set stays.
    EXPECT_EQ(options.sampler().max_steps(), 6u);
    EXPECT_EQ(options.sampler().temperature(), 1.0);
    EXPECT_EQ(options.sampler().threshold(), 0.95);
    EXPECT_EQ(options.sampler().chains(), 8u);
    EXPECT_EQ(options.sampler().cell_flip_probability(), 0.05);
    EXPECT_EQ(options.sampler().sample_swap_probability(), 0.15);
    EXPECT_EQ(options.audio_format(), v1::AUDIO_FORMAT_WAV);
    EXPECT_EQ(options.seed(), 17u);
  }
  v1::SessionOptions flac = FastOptions(2, 1);
  flac.set_audio_format(v1::AUDIO_FORMAT_FLAC);
  flac.mutable_priors()->set_bpm(90);
  flac.mutable_sampler()->set_threshold(0.99);
  const v1::Session chosen = Start(user, flac);
  EXPECT_EQ(chosen.options().audio_format(), v1::AUDIO_FORMAT_FLAC);
  EXPECT_EQ(chosen.options().priors().bpm(), 90.0);
  EXPECT_EQ(chosen.options().sampler().threshold(), 0.99);
  EXPECT_EQ(Next(chosen.session_id()).loop().bpm(), 90.0);
}

// A client that takes the audio by reference still learns how long it is (a player's progress
// bar), and fetching it without naming a format gives the session's format, the one NextLoop
// reported: the stream used to answer WAV whatever the session had asked for.
TEST_F(SessionServiceTest, AudioByReferenceHasItsLengthAndTheSessionsFormat) {
  v1::SessionOptions options = FastOptions(2, 1);
  options.set_audio_format(v1::AUDIO_FORMAT_FLAC);
  options.mutable_priors()->set_bpm(90);
  const v1::Session session = Start(NewUser(), options);
  const v1::NextLoopResponse by_reference = Next(session.session_id());
  EXPECT_TRUE(by_reference.audio().empty());
  EXPECT_EQ(by_reference.audio_format(), v1::AUDIO_FORMAT_FLAC);
  // Four bars of 16 steps at 90 bpm (7,350 frames a step) and the 1 s tail.
  EXPECT_DOUBLE_EQ(by_reference.duration_seconds(), (4 * 16 * 7350 + 44100) / 44100.0);

  v1::NextLoopRequest inline_request;
  inline_request.set_session_id(session.session_id());
  v1::NextLoopResponse inline_audio;
  ASSERT_TRUE(stack_->session().NextLoop(Context().get(), inline_request, &inline_audio).ok());
  ASSERT_EQ(inline_audio.loop_id(), by_reference.loop_id());  // The same loop until it is rated.
  EXPECT_DOUBLE_EQ(inline_audio.duration_seconds(), by_reference.duration_seconds());
  ASSERT_GE(inline_audio.audio().size(), 4u);
  EXPECT_EQ(inline_audio.audio().substr(0, 4), "fLaC");

  v1::StreamLoopAudioRequest stream_request;
  stream_request.set_loop_id(by_reference.audio_ref());
  auto stream_context = Context();
  auto reader = stack_->session().StreamLoopAudio(stream_context.get(), stream_request);
  std::string streamed, mime_type;
  v1::AudioChunk chunk;
  while (reader->Read(&chunk)) {
    if (!chunk.mime_type().empty()) mime_type = chunk.mime_type();
    streamed += chunk.data();
  }
  const grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(mime_type, "audio/flac");
  EXPECT_EQ(streamed, inline_audio.audio());
}

TEST_F(SessionServiceTest, AStartSessionRetryMustAskForTheSameOptions) {
  const std::string user = NewUser();
  v1::StartSessionRequest request;
  request.set_user_id(user);
  request.set_request_id("start-once");
  *request.mutable_options() = FastOptions(3, 1);
  v1::Session first;
  ASSERT_TRUE(stack_->session().StartSession(Context().get(), request, &first).ok());
  v1::Session again;
  ASSERT_TRUE(stack_->session().StartSession(Context().get(), request, &again).ok());
  EXPECT_EQ(again.session_id(), first.session_id());
  request.clear_options();  // Saying nothing about the options asks for nothing else.
  ASSERT_TRUE(stack_->session().StartSession(Context().get(), request, &again).ok());
  EXPECT_EQ(again.session_id(), first.session_id());

  *request.mutable_options() = FastOptions(5, 1);
  const grpc::Status other = stack_->session().StartSession(Context().get(), request, &again);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(other.error_message().find("options.phase1_loops differs"), std::string::npos)
      << other.error_message();
  EXPECT_EQ(Count("SELECT count(*) FROM session.sessions WHERE user_id = '" + user + "'"), 1);
}

TEST_F(SessionServiceTest, WithACriticLagOfOneEachLoopComesFromTheCriticBeforeTheLastRating) {
  const std::string user = NewUser();
  v1::SessionOptions options = FastOptions(10, 3);
  options.set_phase1_critic_lag(1);
  const v1::Session session = Start(user, options);
  EXPECT_EQ(session.options().phase1_critic_lag(), 1u);
  for (int i = 1; i <= 16; ++i) {
    v1::NextLoopResponse loop = Next(session.session_id());
    ASSERT_EQ(loop.position(), static_cast<uint32_t>(i));
    ASSERT_TRUE(
        Rate(loop.loop_id(), ScriptedRaterLikes(loop.loop()), "lag-" + std::to_string(i)).ok());
  }
  const std::string where = "FROM session.loops WHERE session_id = '" + session.session_id() + "'";
  EXPECT_EQ(Count("SELECT count(*) " + where), 16);
  EXPECT_EQ(Count("SELECT count(DISTINCT fingerprint) " + where), 16);
  EXPECT_EQ(
      LoopsWhere(session.session_id(), "phase = 1 AND critic_version = greatest(0, position - 2)"),
      10);
  // Phase II does not lag: the final critic saw all ten ratings.
  EXPECT_EQ(
      LoopsWhere(session.session_id(), "phase = 2 AND source = 'final' AND critic_version = 10"),
      3);
  EXPECT_EQ(
      LoopsWhere(session.session_id(), "phase = 2 AND source = 'initial' AND critic_version = 0"),
      3);
  EXPECT_EQ(Count("SELECT phase1_critic_lag FROM session.sessions WHERE session_id = '" +
                  session.session_id() + "'"),
            1);
  // All of it with the critic keeping the weights of versions 0, 9 and 10 only.
  const std::string weighted =
      "FROM critic.versions v JOIN session.sessions s ON s.critic_id = v.critic_id "
      "WHERE v.model_state IS NOT NULL AND s.session_id = '" +
      session.session_id() + "'";
  EXPECT_EQ(Count("SELECT count(*) " + weighted), 3);
  EXPECT_EQ(Count("SELECT count(*) " + weighted + " AND v.version IN (0, 9, 10)"), 3);
}

TEST_F(SessionServiceTest, ASessionSurvivesItsServiceBeingKilledAndRatingsCountOnce) {
  const std::string user = NewUser();
  const v1::Session session = Start(user, FastOptions(12, 2));
  std::string last_loop;
  for (int i = 1; i <= 5; ++i) {
    v1::NextLoopResponse loop = Next(session.session_id());
    last_loop = loop.loop_id();
    ASSERT_TRUE(Rate(loop.loop_id(), i % 2 == 0, "kill-" + std::to_string(i)).ok());
  }
  stack_->RestartSession();  // SIGKILL right after an acknowledged rating.
  v1::RateResponse retried;
  ASSERT_TRUE(Rate(last_loop, false, "kill-5", &retried).ok());  // The client's retry.
  EXPECT_TRUE(retried.duplicate());
  EXPECT_EQ(retried.progress().phase1_rated(), 5u);
  v1::NextLoopResponse resumed = Next(session.session_id());
  EXPECT_EQ(resumed.position(), 6u);
  const v1::NextLoopResponse presented = resumed;
  stack_->RestartSession();  // Killed while a loop is being listened to.
  EXPECT_EQ(Next(session.session_id()).loop_id(), presented.loop_id());
  ASSERT_TRUE(Rate(presented.loop_id(), true, "kill-6").ok());
  EXPECT_EQ(Count("SELECT count(*) FROM session.ratings WHERE request_id LIKE 'kill-%'"), 6);

  // A critic worker killed while it trains (the paper's 40 minibatches take seconds), then
  // brought back: no rating is lost and the critic is at one version per rating.
  v1::SessionOptions slow = FastOptions(4, 1);
  slow.clear_critic();
  const v1::Session trained = Start(user, slow);
  for (int i = 1; i <= 2; ++i) {
    v1::NextLoopResponse loop = Next(trained.session_id());
    ASSERT_TRUE(Rate(loop.loop_id(), i == 1, "critic-kill-" + std::to_string(i)).ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // Training has started.
  stack_->KillCritic();
  v1::NextLoopRequest during;  // Fails or waits; never wrong. Once: Next() retries UNAVAILABLE.
  during.set_session_id(trained.session_id());
  v1::NextLoopResponse ignored;
  (void)stack_->session().NextLoop(Context(5).get(), during, &ignored);
  stack_->StartCritic();
  for (int i = 3; i <= 6; ++i) {
    v1::NextLoopResponse loop = Next(trained.session_id());
    ASSERT_EQ(loop.position(), static_cast<uint32_t>(i));
    ASSERT_TRUE(Rate(loop.loop_id(), i % 2 == 0, "critic-kill-" + std::to_string(i)).ok());
  }
  const std::string where = "FROM session.loops WHERE session_id = '" + trained.session_id() + "'";
  EXPECT_EQ(Count("SELECT count(*) " + where + " AND phase = 1 AND critic_version = position - 1"),
            4);
  EXPECT_EQ(Count("SELECT count(*) " + where +
                  " AND phase = 2 AND source = 'final' AND critic_version = 4"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM session.ratings WHERE request_id LIKE 'critic-kill-%'"), 6);
}

TEST_F(SessionServiceTest, BadRequestsGetClearErrorsAndChangeNothing) {
  const std::string owner = NewUser();
  const std::string stranger = NewUser();
  const v1::Session session = Start(owner, FastOptions(1, 0));
  v1::NextLoopResponse loop = Next(session.session_id());
  const auto snapshot = [&] {
    return std::make_pair(Count("SELECT count(*) FROM session.ratings"),
                          Count("SELECT count(*) FROM session.loops"));
  };
  const auto before = snapshot();

  EXPECT_EQ(Rate("00000000-0000-0000-0000-000000000000", true, "e-1").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Rate("not-a-uuid", true, "e-2").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // An id of any length is quoted cut short: whole, it made the status too long for the client's
  // header limit, and the client saw RESOURCE_EXHAUSTED instead.
  const grpc::Status long_id = Rate(std::string(10000, 'z'), true, "e-2");
  EXPECT_EQ(long_id.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << long_id.error_message();
  EXPECT_NE(long_id.error_message().find("zzz\xE2\x80\xA6\" (10000 bytes)"), std::string::npos)
      << long_id.error_message();
  // dd-session takes requests up to 1 MiB (its own --max_request_bytes): its requests hold ids
  // and a few numbers, and the 64 MiB it took before let clients make it parse anything.
  const grpc::Status huge = Rate(std::string(2 << 20, 'z'), true, "e-2");
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << huge.error_message();
  EXPECT_TRUE(absl::StrContains(huge.error_message(), " vs. 1048576)")) << huge.error_message();
  EXPECT_EQ(Rate(loop.loop_id(), true, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::RateRequest unspecified;
  unspecified.set_loop_id(loop.loop_id());
  unspecified.set_request_id("e-3");
  v1::RateResponse ignored;
  EXPECT_EQ(stack_->session().Rate(Context().get(), unspecified, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::RateRequest foreign = unspecified;
  foreign.set_rating(v1::RATING_LIKE);
  foreign.set_user_id(stranger);
  EXPECT_EQ(stack_->session().Rate(Context().get(), foreign, &ignored).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::NextLoopRequest foreign_next;
  foreign_next.set_session_id(session.session_id());
  foreign_next.set_user_id(stranger);
  v1::NextLoopResponse unused;
  EXPECT_EQ(stack_->session().NextLoop(Context().get(), foreign_next, &unused).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A malformed user id is the caller's mistake, not another user's session; a UUID in capitals
  // is the same user.
  foreign_next.set_user_id("zz");
  EXPECT_EQ(stack_->session().NextLoop(Context().get(), foreign_next, &unused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  foreign.set_user_id("zz");
  EXPECT_EQ(stack_->session().Rate(Context().get(), foreign, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  foreign_next.set_user_id(absl::AsciiStrToUpper(owner));
  grpc::Status capitals = stack_->session().NextLoop(Context().get(), foreign_next, &unused);
  EXPECT_TRUE(capitals.ok()) << capitals.error_message();
  EXPECT_EQ(unused.loop_id(), loop.loop_id());
  EXPECT_EQ(snapshot(), before);

  ASSERT_TRUE(Rate(loop.loop_id(), true, "e-4").ok());
  EXPECT_EQ(Rate(loop.loop_id(), false, "e-5").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  grpc::Status finished;
  Next(session.session_id(), &finished);
  EXPECT_EQ(finished.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Count("SELECT count(*) FROM session.ratings"), before.first + 1);
  EXPECT_EQ(Count("SELECT count(*) FROM session.ratings WHERE request_id = 'e-5'"), 0);

  v1::StartSessionRequest bad;
  bad.set_user_id(owner);
  bad.mutable_options()->set_phase1_loops(0);
  v1::Session none;
  EXPECT_EQ(stack_->session().StartSession(Context().get(), bad, &none).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad.mutable_options()->set_phase1_loops(10);
  bad.mutable_options()->mutable_sampler()->set_temperature(-1);
  EXPECT_EQ(stack_->session().StartSession(Context().get(), bad, &none).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad.mutable_options()->clear_sampler();
  bad.mutable_options()->set_phase1_critic_lag(2);
  grpc::Status lag_status = stack_->session().StartSession(Context().get(), bad, &none);
  EXPECT_EQ(lag_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(lag_status.error_message().find("phase1_critic_lag"), std::string::npos);
  EXPECT_EQ(Count("SELECT count(*) FROM session.sessions WHERE user_id = '" + owner + "'"), 1);
  bad.set_user_id("00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(stack_->session().StartSession(Context().get(), bad, &none).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Options the generator would refuse at every NextLoop are refused at the start, before a
  // critic is made: mutation probabilities (checked here), and priors that the generator's sample
  // library cannot meet (checked by the generator with validate_only).
  const int64_t critics_before = Count("SELECT count(*) FROM critic.critics");
  const auto start_with = [&](auto mutate) {
    v1::StartSessionRequest request;
    request.set_user_id(owner);
    *request.mutable_options() = FastOptions(1, 0);
    mutate(*request.mutable_options());
    return stack_->session().StartSession(Context().get(), request, &none);
  };
  grpc::Status flip =
      start_with([](v1::SessionOptions& o) { o.mutable_sampler()->set_cell_flip_probability(5); });
  EXPECT_EQ(flip.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(flip.error_message().find("options.sampler.cell_flip_probability"), std::string::npos)
      << flip.error_message();
  // Loops that take more steps to draw than the service allows would time out at every NextLoop.
  grpc::Status endless = start_with([](v1::SessionOptions& o) {
    o.mutable_sampler()->set_min_steps(100000);
    o.mutable_sampler()->set_max_steps(100000);
  });
  EXPECT_EQ(endless.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(endless.error_message().find("min_steps + options.sampler.max_steps is 100000 + "
                                         "100000 = 200000 steps"),
            std::string::npos)
      << endless.error_message();
  grpc::Status unknown_sample = start_with(
      [](v1::SessionOptions& o) { o.mutable_priors()->add_sample_ids("no/such-sample.wav"); });
  EXPECT_EQ(unknown_sample.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(unknown_sample.error_message().find("no/such-sample.wav"), std::string::npos)
      << unknown_sample.error_message();
  grpc::Status no_folder = start_with(
      [](v1::SessionOptions& o) { o.mutable_priors()->add_sample_folders("no-such-folder/"); });
  EXPECT_EQ(no_folder.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Two steps of one sample allow 4 distinct loops; a session of 1 + 0 loops fits, one of
  // 5 + 0 would stall at its fifth loop (RESOURCE_EXHAUSTED from the generator, forever).
  const auto tiny_priors = [](v1::SessionOptions& o) {
    o.mutable_priors()->set_steps(2);
    o.mutable_priors()->set_tracks(1);
    o.mutable_priors()->add_sample_ids("kick/kick-deep.wav");
  };
  grpc::Status too_few = start_with([&](v1::SessionOptions& o) {
    tiny_priors(o);
    o.set_phase1_loops(5);
  });
  EXPECT_EQ(too_few.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(too_few.error_message().find("allow only 4 distinct loops"), std::string::npos)
      << too_few.error_message();
  grpc::Status bad_critic = start_with([](v1::SessionOptions& o) {
    o.mutable_critic()->set_learning_rate(std::numeric_limits<double>::infinity());
  });
  EXPECT_EQ(bad_critic.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad_critic.error_message().rfind("options.critic.learning_rate must be", 0), 0u)
      << bad_critic.error_message();
  grpc::Status odd_floor = start_with([](v1::SessionOptions& o) {
    o.mutable_priors()->set_steps(6);
    o.mutable_priors()->set_four_on_the_floor(true);
  });
  EXPECT_EQ(odd_floor.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Loops longer than dd-render renders (4 bars of 24 s and a tail: 97 s, the limit 60 s) failed
  // every NextLoop of a session that had been started with them.
  grpc::Status too_long = start_with([](v1::SessionOptions& o) {
    o.mutable_priors()->set_steps(64);
    o.mutable_priors()->set_bpm(40);
  });
  EXPECT_EQ(too_long.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(too_long.error_message().find("options.priors make loops the render service will not "
                                          "render as a listener hears them (4 bars of 64 steps "
                                          "at 40 bpm, then a 1 s tail): render service: the "
                                          "render would last 97.0 s, the limit is 60.0 s"),
            std::string::npos)
      << too_long.error_message();
  EXPECT_EQ(Count("SELECT count(*) FROM session.sessions WHERE user_id = '" + owner + "'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM critic.critics"), critics_before);

  // Enum values the API does not define are refused, not read as the default: a session stored
  // with audio format 9 rendered WAVs labelled 9, and would fail every NextLoop once dd-render
  // refused the number.
  v1::StartSessionRequest odd_format;
  odd_format.set_user_id(owner);
  *odd_format.mutable_options() = FastOptions(1, 0);
  odd_format.mutable_options()->set_audio_format(static_cast<v1::AudioFormat>(9));
  grpc::Status format_status = stack_->session().StartSession(Context().get(), odd_format, &none);
  EXPECT_EQ(format_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(format_status.error_message().find("options.audio_format 9"), std::string::npos)
      << format_status.error_message();
  EXPECT_EQ(Count("SELECT count(*) FROM session.sessions WHERE user_id = '" + owner + "'"), 1);
  const v1::Session fresh = Start(stranger, FastOptions(1, 0));
  v1::NextLoopRequest odd_delivery;
  odd_delivery.set_session_id(fresh.session_id());
  odd_delivery.set_audio_delivery(static_cast<v1::AudioDelivery>(9));
  grpc::Status delivery_status = stack_->session().NextLoop(Context().get(), odd_delivery, &unused);
  EXPECT_EQ(delivery_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(delivery_status.error_message().find("audio_delivery 9"), std::string::npos)
      << delivery_status.error_message();
  EXPECT_EQ(LoopsWhere(fresh.session_id(), "presented_at IS NOT NULL"), 0);  // Not shown.
  v1::StreamLoopAudioRequest odd_stream;
  odd_stream.set_loop_id(loop.loop_id());
  odd_stream.set_format(static_cast<v1::AudioFormat>(9));
  auto stream_context = Context();
  auto reader = stack_->session().StreamLoopAudio(stream_context.get(), odd_stream);
  v1::AudioChunk chunk;
  int chunks = 0;
  while (reader->Read(&chunk))
    ++chunks;
  grpc::Status stream_status = reader->Finish();
  EXPECT_EQ(chunks, 0);
  EXPECT_EQ(stream_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(stream_status.error_message().find("format 9"), std::string::npos)
      << stream_status.error_message();
}

// PostgreSQL text cannot hold a NUL and libpq cuts a parameter there: "key\0a" and "key\0b" were
// the same idempotency key, so the second CreateUser silently returned the first one's user, and
// "a\0b" was stored as "a". A key longer than its unique index allows was an INTERNAL error. Both
// are the caller's mistake and are refused before anything is stored.
TEST_F(SessionServiceTest, TextThatCannotBeStoredWholeIsRefusedAndKeysNeverCollide) {
  const int64_t users_before = Count("SELECT count(*) FROM session.users");
  const auto create_user = [&](const std::string& name, const std::string& key, v1::User* user) {
    v1::CreateUserRequest request;
    request.set_display_name(name);
    request.set_request_id(key);
    return stack_->session().CreateUser(Context().get(), request, user);
  };
  v1::User first;
  ASSERT_TRUE(create_user("first", "nul-key", &first).ok());
  v1::User again;
  ASSERT_TRUE(create_user("first", "nul-key", &again).ok());
  EXPECT_EQ(again.user_id(), first.user_id());  // The key still works as a key.
  v1::User none;
  // The same key for another user (an app reusing keys) is refused, not answered with the user
  // first made with it, and the refusal tells nothing of that user.
  grpc::Status reused = create_user("second", "nul-key", &none);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(reused.error_message().find("already used to create a user with another "
                                        "display_name"),
            std::string::npos)
      << reused.error_message();
  EXPECT_EQ(reused.error_message().find(first.user_id()), std::string::npos);
  EXPECT_EQ(reused.error_message().find("first"), std::string::npos);
  EXPECT_TRUE(none.user_id().empty());
  grpc::Status nul_key = create_user("second", std::string("nul-key\0b", 9), &none);
  EXPECT_EQ(nul_key.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(nul_key.error_message().find("request_id contains a NUL"), std::string::npos)
      << nul_key.error_message();
  grpc::Status nul_name = create_user(std::string("a\0b", 3), "", &none);
  EXPECT_EQ(nul_name.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(nul_name.error_message().find("display_name"), std::string::npos);
  grpc::Status long_key = create_user("x", std::string(201, 'k'), &none);
  EXPECT_EQ(long_key.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(long_key.error_message().find("request_id is 201 bytes long; the limit is 200"),
            std::string::npos)
      << long_key.error_message();
  EXPECT_EQ(create_user(std::string(201, 'n'), "", &none).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Count("SELECT count(*) FROM session.users"), users_before + 1);

  const int64_t sessions_before = Count("SELECT count(*) FROM session.sessions");
  const int64_t critics_before = Count("SELECT count(*) FROM critic.critics");
  v1::StartSessionRequest start;
  start.set_user_id(first.user_id());
  *start.mutable_options() = FastOptions(1, 0);
  start.set_request_id(std::string(30000, 's'));
  v1::Session no_session;
  grpc::Status long_start = stack_->session().StartSession(Context().get(), start, &no_session);
  EXPECT_EQ(long_start.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(long_start.error_message().find("request_id"), std::string::npos);
  start.set_request_id(std::string("s\0", 2));
  EXPECT_EQ(stack_->session().StartSession(Context().get(), start, &no_session).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Count("SELECT count(*) FROM session.sessions"), sessions_before);
  EXPECT_EQ(Count("SELECT count(*) FROM critic.critics"), critics_before);  // None was made.

  start.clear_request_id();
  const v1::Session session = Start(first.user_id(), FastOptions(2, 0));
  const v1::NextLoopResponse loop = Next(session.session_id());
  ASSERT_TRUE(Rate(loop.loop_id(), true, "rate-key").ok());
  grpc::Status nul_rate = Rate(loop.loop_id(), true, std::string("rate-key\0x", 10));
  EXPECT_EQ(nul_rate.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(nul_rate.error_message().find("NUL"), std::string::npos) << nul_rate.error_message();
  // A retry must repeat its rating: "duplicate" would tell the client the dislike was kept.
  grpc::Status flipped = Rate(loop.loop_id(), false, "rate-key");
  EXPECT_EQ(flipped.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(flipped.error_message().find("already rated this loop RATING_LIKE"), std::string::npos)
      << flipped.error_message();
  v1::RateResponse retried;
  ASSERT_TRUE(Rate(loop.loop_id(), true, "rate-key", &retried).ok());
  EXPECT_TRUE(retried.duplicate());
  // The loop id in capitals is the same loop (it was "already used to rate another loop").
  grpc::Status capitals = Rate(absl::AsciiStrToUpper(loop.loop_id()), true, "rate-key", &retried);
  ASSERT_TRUE(capitals.ok()) << capitals.error_message();
  EXPECT_TRUE(retried.duplicate());
  EXPECT_EQ(Count("SELECT count(*) FROM session.ratings r JOIN session.loops l USING (loop_id) "
                  "WHERE l.session_id = '" +
                  session.session_id() + "' AND r.liked"),
            1);
  EXPECT_EQ(LoopsWhere(session.session_id(), "loop_id IN (SELECT loop_id FROM session.ratings)"),
            1);
}

// phase2_loops_per_critic 0 is a session that only learns. It used to end with a final critic
// that never saw the last rating and results that were never available ("no results before
// Phase II") while NextLoop said "complete, see GetResults".
TEST_F(SessionServiceTest, ASessionWithoutPhaseTwoEndsWithResultsAndAFullyTrainedCritic) {
  const v1::Session session = Start(NewUser(), FastOptions(2, 0));
  v1::GetResultsRequest results_request;
  results_request.set_session_id(session.session_id());
  v1::SessionResults results;
  grpc::Status early = stack_->session().GetResults(Context().get(), results_request, &results);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(early.error_message().find("rate every loop"), std::string::npos)
      << early.error_message();
  for (int i = 1; i <= 2; ++i) {
    const v1::NextLoopResponse loop = Next(session.session_id());
    v1::RateResponse rated;
    ASSERT_TRUE(Rate(loop.loop_id(), i == 1, "learn-only-" + std::to_string(i), &rated).ok());
    EXPECT_EQ(rated.phase(), i == 2 ? v1::PHASE_COMPLETE : v1::PHASE_LEARNING);
  }
  grpc::Status status = stack_->session().GetResults(Context().get(), results_request, &results);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(results.complete());
  EXPECT_EQ(results.final_critic_version(), 2u);  // Trained on both ratings.
  EXPECT_DOUBLE_EQ(results.phase1_like_rate(), 0.5);
  EXPECT_EQ(results.init_rated() + results.final_rated(), 0u);
  EXPECT_EQ(Count("SELECT c.latest_version FROM critic.critics c JOIN session.sessions s "
                  "ON s.critic_id = c.critic_id WHERE s.session_id = '" +
                  session.session_id() + "'"),
            2);
  v1::ExportSessionRequest export_request;
  export_request.set_session_id(session.session_id());
  export_request.set_include_audio(true);
  v1::ExportSessionResponse exported;
  status = stack_->session().ExportSession(Context().get(), export_request, &exported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(exported.audio_size(), 2);
  EXPECT_EQ(exported.audio(0).audio().rfind("RIFF", 0), 0u);
}

// An ExportSession with audio holds up to --max_message_bytes of it, about twice that while it is
// sent: 16 at once took dd-session to 1.7 GB. At most --max_audio_exports (2) are built at once;
// another waits 5 s for one of them, then is refused saying so. dd-render is stopped here, so
// the two admitted wait in their first Render call.
// Whether every thread of process `pid` is stopped (SIGSTOP): a signal reaches each thread on its
// own, so the process may still answer for a moment after kill() returns.
bool AllThreadsStopped(pid_t pid) {
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code error;
  int threads = 0;
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const size_t name_end = line.rfind(')');
    if (name_end == std::string::npos || name_end + 2 >= line.size()) return false;
    if (line[name_end + 2] != 'T' && line[name_end + 2] != 't') return false;
    ++threads;
  }
  return !error && threads > 0;
}

TEST_F(SessionServiceTest, AudioExportsBeyondTheLimitWaitThenAreRefused) {
  const v1::Session session = Start(NewUser(), FastOptions(1, 0));
  const v1::NextLoopResponse presented = Next(session.session_id());
  ASSERT_FALSE(presented.loop_id().empty());  // A presented loop: audio to export.
  const auto export_session = [&session](bool include_audio) {
    v1::ExportSessionRequest request;
    request.set_session_id(session.session_id());
    request.set_include_audio(include_audio);
    v1::ExportSessionResponse response;
    return stack_->session().ExportSession(Context().get(), request, &response);
  };
  stack_->SignalRender(SIGSTOP);
  struct ResumeRender {
    ~ResumeRender() { stack_->SignalRender(SIGCONT); }
  } resume_render;
  const auto stop_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!AllThreadsStopped(stack_->render_pid()) && std::chrono::steady_clock::now() < stop_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(AllThreadsStopped(stack_->render_pid()));
  std::vector<std::future<grpc::Status>> exports;
  for (int i = 0; i < 3; ++i) {
    exports.push_back(std::async(std::launch::async, export_session, true));
  }
  // Exports without audio do not wait for the gate (nor for dd-render).
  const grpc::Status light = export_session(false);
  EXPECT_TRUE(light.ok()) << light.error_message();
  // The first to end is the one refused, whichever it is; dd-render resumes then.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool one_ended = false;
  while (!one_ended && std::chrono::steady_clock::now() < give_up) {
    for (auto& pending : exports) {
      if (pending.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready) {
        one_ended = true;
      }
    }
  }
  stack_->SignalRender(SIGCONT);
  std::map<grpc::StatusCode, int> outcomes;
  for (auto& pending : exports) {
    const grpc::Status status = pending.get();
    ++outcomes[status.error_code()];
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      EXPECT_TRUE(absl::StartsWith(status.error_message(),
                                   "dd-session's ExportSession with include_audio "
                                   "(--max_audio_exports) is at its limit of 2 calls at once"))
          << status.error_message();
    } else {
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
  }
  EXPECT_EQ(outcomes[grpc::StatusCode::RESOURCE_EXHAUSTED], 1);
  EXPECT_EQ(outcomes[grpc::StatusCode::OK], 2);
}

// A session's ratings reach the critic in calls of at most 256 examples: with every rating in one
// call, a session of more Phase I loops (up to 1,000 are allowed) stopped at loop 258 for good,
// each NextLoop RESOURCE_EXHAUSTED. Its first 257 loops are written here as the service writes
// them (through the same repository), with distinct patterns from the kit, so that the test need
// not listen to them all.
TEST_F(SessionServiceTest, RatingsBeyondOneTrainCallReachTheCriticInSeveralCalls) {
  const v1::Session session = Start(NewUser(), FastOptions(/*phase1=*/300, /*phase2=*/1));
  storage::PgPoolOptions pool_options;
  pool_options.connection_string = stack_->database();
  pool_options.size = 2;
  auto pool = storage::PgPool::Create(pool_options, storage::SessionRepository::Statements());
  ASSERT_TRUE(pool.ok()) << pool.status();
  storage::SessionRepository repository(**pool);
  // Loop 1 comes from the service, prepared when the session started; it is rated below, through
  // the repository, so that nothing is prepared in the background meanwhile.
  const v1::NextLoopResponse first = Next(session.session_id());
  ASSERT_EQ(first.position(), 1u);
  constexpr int kRated = 257;
  for (int position = 1; position <= kRated; ++position) {
    if (position > 1) {
      v1::DrumLoop loop;
      loop.set_steps(16);
      loop.set_bpm(120);
      for (const char* id : {"kick/kick-deep.wav", "snare/snare-crisp.wav"}) {
        v1::Track* track = loop.add_tracks();
        track->set_sample_id(id);
        for (int step = 0; step < 16; ++step)
          track->add_hits(((position >> (step % 9)) & 1) != (track == loop.mutable_tracks(0)));
      }
      storage::NewLoop stored;
      stored.position = position;
      stored.phase = 1;
      stored.source = "learning";
      stored.pattern = loop.SerializeAsString();
      stored.fingerprint = absl::StrFormat("%016x", 0xfeed000000000000u + position);
      stored.critic_version = static_cast<uint64_t>(position - 1);
      auto inserted = repository.InsertLoop(session.session_id(), stored);
      ASSERT_TRUE(inserted.ok() && *inserted) << position << ": " << inserted.status();
    }
    auto shown = repository.PresentNext(session.session_id());
    ASSERT_TRUE(shown.ok() && shown->has_value()) << position << ": " << shown.status();
    ASSERT_EQ((*shown)->position, position);
    auto rated = repository.Rate((*shown)->loop_id, position % 2 == 0,
                                 "written-" + std::to_string(position), "");
    ASSERT_TRUE(rated.ok()) << position << ": " << rated.status();
  }
  // Loop 258 needs the critic trained on all 257 ratings: two calls, of 256 and of 1.
  const v1::NextLoopResponse next = Next(session.session_id());
  EXPECT_EQ(next.position(), static_cast<uint32_t>(kRated + 1));
  EXPECT_EQ(next.phase(), v1::PHASE_LEARNING);
  EXPECT_EQ(LoopsWhere(session.session_id(), "position = 258 AND critic_version = 257"), 1);
}

TEST_F(SessionServiceTest, ListSessionsPagesThroughAUsersSessionsInOrder) {
  const std::string user = NewUser();
  const std::string other = NewUser();
  std::vector<std::string> started;
  for (int i = 0; i < 3; ++i)
    started.push_back(Start(user, FastOptions(1, 0)).session_id());
  const std::string foreign = Start(other, FastOptions(1, 0)).session_id();

  std::string listed_user = user;
  const auto list = [&](const std::string& token, v1::ListSessionsResponse* page) {
    v1::ListSessionsRequest request;
    request.set_user_id(listed_user);
    request.set_page_size(2);
    request.set_page_token(token);
    return stack_->session().ListSessions(Context().get(), request, page);
  };
  v1::ListSessionsResponse first, second;
  ASSERT_TRUE(list("", &first).ok());
  ASSERT_EQ(first.sessions_size(), 2);
  ASSERT_FALSE(first.next_page_token().empty());
  ASSERT_TRUE(list(first.next_page_token(), &second).ok());
  ASSERT_EQ(second.sessions_size(), 1);
  EXPECT_TRUE(second.next_page_token().empty());
  EXPECT_EQ(
      (std::vector<std::string>{first.sessions(0).session_id(), first.sessions(1).session_id(),
                                second.sessions(0).session_id()}),
      started);                               // Oldest first, each once.
  listed_user = absl::AsciiStrToUpper(user);  // The same user, and the token still fits.
  v1::ListSessionsResponse again;
  grpc::Status capitals = list(first.next_page_token(), &again);
  ASSERT_TRUE(capitals.ok()) << capitals.error_message();
  ASSERT_EQ(again.sessions_size(), 1);
  EXPECT_EQ(again.sessions(0).session_id(), second.sessions(0).session_id());
  listed_user = user;

  // Another user's session, or one that does not exist, as a token silently ended the listing.
  // A token that is not one at all is told the same: the token's form is not the client's business.
  for (const std::string& token :
       {foreign, std::string("00000000-0000-0000-0000-000000000000"), std::string("garbage")}) {
    v1::ListSessionsResponse page;
    grpc::Status status = list(token, &page);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << token;
    EXPECT_EQ(status.error_message(),
              "page_token is not a next_page_token of this user's sessions; pass it unchanged");
  }
}

TEST_F(SessionServiceTest, DeleteUserRemovesSessionsRatingsAndCritics) {
  const std::string user = NewUser();
  const v1::Session session = Start(user, FastOptions(3, 1));
  v1::NextLoopResponse loop = Next(session.session_id());
  ASSERT_TRUE(Rate(loop.loop_id(), true, "delete-1").ok());
  v1::ListSessionsRequest list;
  list.set_user_id(user);
  v1::ListSessionsResponse listed;
  ASSERT_TRUE(stack_->session().ListSessions(Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.sessions_size(), 1);

  v1::DeleteUserRequest request;
  request.set_user_id(user);
  v1::DeleteUserResponse deleted;
  ASSERT_TRUE(stack_->session().DeleteUser(Context().get(), request, &deleted).ok());
  EXPECT_EQ(deleted.sessions_deleted(), 1u);
  EXPECT_EQ(deleted.ratings_deleted(), 1u);
  EXPECT_EQ(deleted.critics_deleted(), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM session.sessions WHERE user_id = '" + user + "'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM critic.critics WHERE owner = 'user:" + user + "'"), 0);
  v1::GetUserRequest get;
  get.set_user_id(user);
  v1::User gone;
  EXPECT_EQ(stack_->session().GetUser(Context().get(), get, &gone).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace dd

namespace dd {
namespace {

// A loop the generator cannot draw within dd-session's --generator_timeout fails the NextLoop
// that waited for it once, saying whose timeout ran out; the NextLoop that joined the preparation
// StartSession began does not draw it again (it did, and answered after twice the timeout).
TEST(SessionPreparationTest, AFailedPreparationIsAnsweredOnceNotRepeated) {
  const dd::testing::TempDir logs;
  dd::testing::SessionStackOptions options;
  options.log_dir = logs.path();
  options.session_flags = {"--generator_timeout=1s"};
  dd::testing::SessionStack stack("session_preparation", options);
  ASSERT_TRUE(stack.up());
  v1::CreateUserRequest create;
  create.set_display_name("patient listener");
  v1::User user;
  ASSERT_TRUE(stack.session().CreateUser(Context().get(), create, &user).ok());
  v1::StartSessionRequest start;
  start.set_user_id(user.user_id());
  *start.mutable_options() = FastOptions(3, 1);
  // Each step scores a loop over gRPC (a millisecond or more here): far beyond one second.
  start.mutable_options()->mutable_sampler()->set_min_steps(9000);
  v1::Session session;
  grpc::Status status = stack.session().StartSession(Context().get(), start, &session);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::NextLoopRequest next;
  next.set_session_id(session.session_id());
  v1::NextLoopResponse loop;
  status = stack.session().NextLoop(Context().get(), next, &loop);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_NE(status.error_message().find("no reply within 1s, dd-session's --generator_timeout"),
            std::string::npos)
      << status.error_message();
  // A second draw would have ended by now too: its own call is cut at one second.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::string generator_log = stack.Log("generator");
  size_t draws = 0;
  for (size_t at = generator_log.find("\"generator.sample\""); at != std::string::npos;
       at = generator_log.find("\"generator.sample\"", at + 1)) {
    ++draws;
  }
  EXPECT_EQ(draws, 1u) << generator_log;
}

// The whole backend with mutual TLS on every connection: the test's stub to dd-session, and
// dd-session to dd-critic, dd-generator and dd-render, and dd-generator to dd-critic, each with
// the --tls_* flags as an operator would give them.
TEST(SessionOverMutualTlsTest, LoopsAreDrawnTrainedOnRenderedAndRatedOverMutualTls) {
  const dd::testing::TestCertificates pki;
  ASSERT_TRUE(pki.ok()) << pki.why();
  dd::testing::SessionStackOptions options;
  options.tls = &pki;
  dd::testing::SessionStack stack("session_mtls", options);
  ASSERT_TRUE(stack.up());

  v1::CreateUserRequest create;
  create.set_display_name("listener over mTLS");
  v1::User user;
  grpc::Status status = stack.session().CreateUser(Context().get(), create, &user);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::StartSessionRequest start;
  start.set_user_id(user.user_id());
  *start.mutable_options() = FastOptions(/*phase1=*/3, /*phase2=*/1);
  v1::Session session;
  status = stack.session().StartSession(Context().get(), start, &session);  // Creates a critic.
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (int position = 1; position <= 3; ++position) {
    // Sampled by dd-generator scoring with dd-critic (trained on the ratings so far), and
    // rendered inline by dd-render.
    v1::NextLoopRequest next;
    next.set_session_id(session.session_id());
    v1::NextLoopResponse loop;
    status = stack.session().NextLoop(Context().get(), next, &loop);
    ASSERT_TRUE(status.ok()) << position << ": " << status.error_message();
    EXPECT_EQ(loop.position(), static_cast<uint32_t>(position));
    EXPECT_EQ(loop.audio().substr(0, 4), "RIFF");
    v1::RateRequest rate;
    rate.set_loop_id(loop.loop_id());
    rate.set_rating(ScriptedRaterLikes(loop.loop()) ? v1::RATING_LIKE : v1::RATING_DISLIKE);
    rate.set_request_id("mtls-" + std::to_string(position));
    v1::RateResponse rated;
    status = stack.session().Rate(Context().get(), rate, &rated);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(stack.Count("SELECT count(*) FROM session.ratings"), 3);
  // The critic learned from the ratings: its versions are stored.
  EXPECT_GE(stack.Count("SELECT count(*) FROM critic.versions"), 3);

  // A client without TLS gets no further than the handshake.
  auto plaintext = v1::SessionService::NewStub(
      grpc::CreateChannel(stack.session_address(), grpc::InsecureChannelCredentials()));
  v1::GetUserRequest get;
  get.set_user_id(user.user_id());
  v1::User got;
  EXPECT_EQ(plaintext->GetUser(Context(10).get(), get, &got).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace dd
