// Starts the real render service on a loopback port and calls it over gRPC.
#include "services/render/render_service.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/admission/admission_gate.h"
#include "common/audio/decode.h"
#include "deepdrummer/v1/render.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/shared/client_channel.h"
#include "services/shared/grpc_server.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {

namespace v1 = deepdrummer::v1;

v1::DrumLoop BasicLoop() {
  v1::DrumLoop loop;
  const char* ids[] = {"kick/kick-deep.wav", "snare/snare-crisp.wav", "hat/hat-closed-tight.wav",
                       "perc/cowbell.wav"};
  for (int t = 0; t < 4; ++t) {
    v1::Track* track = loop.add_tracks();
    track->set_sample_id(ids[t]);
    for (int k = 0; k < 16; ++k)
      track->add_hits((k + t) % 4 == 0);
  }
  return loop;
}

class RenderServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto holder = SampleLibraryHolder::Create(testing::DefaultKitDir());
    ASSERT_TRUE(holder.ok()) << holder.status();
    samples_ = *std::move(holder);
    // With a helper, as dd-render runs by default.
    auto helpers = HelperTeam::Create({.helpers = 1});
    ASSERT_TRUE(helpers.ok()) << helpers.status();
    // dd-render's default limit, with a shorter wait so that a refusal comes quickly.
    auto admission =
        AdmissionGate::Create({.name = "dd-render", .max_wait = absl::Milliseconds(1500)});
    ASSERT_TRUE(admission.ok()) << admission.status();
    admission_ = *std::move(admission);
    service_ = std::make_unique<RenderService>(*samples_, RenderServiceOptions{},
                                               std::shared_ptr<HelperTeam>(*std::move(helpers)),
                                               admission_.get());
    GrpcServerOptions options;
    options.health_service_names = {"deepdrummer.v1.RenderService"};
    options.metrics_port = 0;
    auto server = GrpcServer::Start(options, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    channel_ =
        grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args);
    stub_ = v1::RenderService::NewStub(channel_);
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  grpc::Status Render(const v1::RenderRequest& request, v1::RenderResponse* response) {
    return stub_->Render(Context().get(), request, response);
  }

  // Every slot of the gate, taken as running calls would take them.
  std::vector<AdmissionGate::Ticket> TakeEverySlot() {
    std::vector<AdmissionGate::Ticket> running;
    while (admission_->in_flight() < admission_->options().max_concurrent) {
      auto ticket = admission_->Enter(absl::InfiniteFuture());
      EXPECT_TRUE(ticket.ok()) << ticket.status();
      if (!ticket.ok()) break;
      running.push_back(*std::move(ticket));
    }
    return running;
  }

  std::unique_ptr<SampleLibraryHolder> samples_;
  std::unique_ptr<AdmissionGate> admission_;
  std::unique_ptr<RenderService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RenderService::Stub> stub_;
};

TEST_F(RenderServiceTest, RendersAWavOfNineSecondsByDefault) {
  v1::RenderRequest request;
  *request.mutable_loop() = BasicLoop();
  v1::RenderResponse response;
  ASSERT_TRUE(Render(request, &response).ok());
  EXPECT_EQ(response.format(), v1::AUDIO_FORMAT_WAV);
  EXPECT_EQ(response.mime_type(), "audio/wav");
  EXPECT_EQ(response.sample_rate(), 44100u);
  EXPECT_EQ(response.frames(), 396900u);
  EXPECT_DOUBLE_EQ(response.duration_seconds(), 9.0);
  absl::StatusOr<DecodedAudio> decoded = DecodeAudioBytes(response.audio(), 1 << 22);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->format, "WAV PCM_16");
  EXPECT_EQ(decoded->mono.size(), 396900u);
  float peak = 0.0f;
  for (float x : decoded->mono)
    peak = std::max(peak, std::fabs(x));
  EXPECT_GT(peak, 0.1f) << "the loop must not be silent";
}

TEST_F(RenderServiceTest, RendersFlacAndOggWithRepeatsAndTail) {
  for (v1::AudioFormat format : {v1::AUDIO_FORMAT_FLAC, v1::AUDIO_FORMAT_OGG}) {
    v1::RenderRequest request;
    *request.mutable_loop() = BasicLoop();
    request.set_format(format);
    request.set_repeats(2);
    request.set_tail_seconds(0.5);
    v1::RenderResponse response;
    ASSERT_TRUE(Render(request, &response).ok());
    EXPECT_EQ(response.frames(), 2u * 88200u + 22050u);
    absl::StatusOr<DecodedAudio> decoded = DecodeAudioBytes(response.audio(), 1 << 22);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_NEAR(static_cast<double>(decoded->mono.size()), 2 * 88200 + 22050, 64);
    EXPECT_EQ(decoded->format, format == v1::AUDIO_FORMAT_FLAC ? "FLAC PCM_16" : "OGG VORBIS");
  }
}

TEST_F(RenderServiceTest, SteadyBarIsOneBarOfFloats) {
  v1::RenderSteadyBarRequest request;
  *request.mutable_loop() = BasicLoop();
  v1::RenderSteadyBarResponse response;
  ASSERT_TRUE(stub_->RenderSteadyBar(Context().get(), request, &response).ok());
  EXPECT_EQ(response.audio().sample_rate(), 44100u);
  EXPECT_EQ(response.audio().samples_f32le().size(), 88200u * 4u);
}

TEST_F(RenderServiceTest, BadRequestsGetClearErrors) {
  struct Case {
    std::string name;
    std::function<void(v1::RenderRequest&)> mutate;
    grpc::StatusCode code;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"unknown sample",
       [](auto& r) { r.mutable_loop()->mutable_tracks(1)->set_sample_id("nope.wav"); },
       grpc::StatusCode::NOT_FOUND, "nope.wav"},
      // Quoted whole, the id made a status too long for the client's header limit: the client
      // got RESOURCE_EXHAUSTED "received initial metadata size exceeds limit".
      {"unknown sample id of 10 KB",
       [](auto& r) { r.mutable_loop()->mutable_tracks(1)->set_sample_id(std::string(10000, 'x')); },
       grpc::StatusCode::NOT_FOUND, "xxx\xE2\x80\xA6\" (10000 bytes)"},
      {"short hits",
       [](auto& r) { r.mutable_loop()->mutable_tracks(2)->mutable_hits()->RemoveLast(); },
       grpc::StatusCode::INVALID_ARGUMENT, "tracks[2].hits"},
      {"bpm too fast", [](auto& r) { r.mutable_loop()->set_bpm(900); },
       grpc::StatusCode::INVALID_ARGUMENT, "bpm"},
      {"too many steps", [](auto& r) { r.mutable_loop()->set_steps(1000); },
       grpc::StatusCode::INVALID_ARGUMENT, "steps"},
      {"no tracks", [](auto& r) { r.mutable_loop()->clear_tracks(); },
       grpc::StatusCode::INVALID_ARGUMENT, "track"},
      {"too many repeats", [](auto& r) { r.set_repeats(5000000); },
       grpc::StatusCode::INVALID_ARGUMENT, "got 5000000"},
      {"negative tail", [](auto& r) { r.set_tail_seconds(-1); }, grpc::StatusCode::INVALID_ARGUMENT,
       "tail"},
      {"too long",
       [](auto& r) {
         r.mutable_loop()->set_bpm(40);
         r.set_repeats(16);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "limit"},
      {"bad velocity",
       [](auto& r) {
         auto* track = r.mutable_loop()->mutable_tracks(0);
         for (int k = 0; k < 16; ++k)
           track->add_velocities(k == 0 ? 0.0f : 1.0f);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "velocities[0]"},
      // A format this API does not define was answered as a WAV labelled with that number.
      {"unknown format", [](auto& r) { r.set_format(static_cast<v1::AudioFormat>(77)); },
       grpc::StatusCode::INVALID_ARGUMENT, "format 77 is not an AudioFormat"},
  };
  for (const Case& c : cases) {
    // A request that only asks to be checked is refused as the render itself would be.
    for (bool validate_only : {false, true}) {
      v1::RenderRequest request;
      *request.mutable_loop() = BasicLoop();
      c.mutate(request);
      request.set_validate_only(validate_only);
      v1::RenderResponse response;
      const grpc::Status status = Render(request, &response);
      EXPECT_EQ(status.error_code(), c.code)
          << c.name << (validate_only ? " (validate_only): " : ": ") << status.error_message();
      EXPECT_NE(status.error_message().find(c.message_part), std::string::npos)
          << c.name << (validate_only ? " (validate_only): " : ": ") << status.error_message();
    }
  }
}

TEST_F(RenderServiceTest, ValidateOnlyAnswersWhatTheRenderWouldBeWithoutRendering) {
  v1::RenderRequest request;
  *request.mutable_loop() = BasicLoop();
  request.mutable_loop()->set_bpm(90);
  request.set_format(v1::AUDIO_FORMAT_FLAC);
  request.set_repeats(3);
  request.set_tail_seconds(0.5);
  v1::RenderResponse rendered;
  ASSERT_TRUE(Render(request, &rendered).ok());
  request.set_validate_only(true);
  v1::RenderResponse checked;
  ASSERT_TRUE(Render(request, &checked).ok());
  EXPECT_TRUE(checked.audio().empty());
  EXPECT_FALSE(rendered.audio().empty());
  EXPECT_EQ(checked.format(), v1::AUDIO_FORMAT_FLAC);
  EXPECT_EQ(checked.mime_type(), rendered.mime_type());
  EXPECT_EQ(checked.sample_rate(), 44100u);
  EXPECT_EQ(checked.frames(), rendered.frames());
  EXPECT_EQ(checked.duration_seconds(), rendered.duration_seconds());
  EXPECT_EQ(checked.frames(), 3u * 117600u + 22050u);  // Bars of 16 steps at 90 bpm: 2.667 s.
}

TEST(RenderServiceOptionsTest, ALimitNoRenderMeetsIsRefused) {
  // --max_render_seconds=-5 used to start a server that refused every render.
  for (const double seconds : {-5.0, 0.0, std::nan(""), 601.0}) {
    absl::Status status = ValidateRenderServiceOptions({.max_render_seconds = seconds});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << seconds;
    EXPECT_NE(status.message().find("max_render_seconds"), std::string::npos) << status;
  }
  EXPECT_TRUE(ValidateRenderServiceOptions({}).ok());
  EXPECT_TRUE(ValidateRenderServiceOptions({.max_render_seconds = 600.0}).ok());
}

TEST_F(RenderServiceTest, ListSamplesPagesThroughEverySampleOnce) {
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListSamplesRequest request;
    request.set_page_size(5);
    request.set_page_token(token);
    v1::ListSamplesResponse response;
    ASSERT_TRUE(stub_->ListSamples(Context().get(), request, &response).ok());
    EXPECT_EQ(response.total_size(), samples_->Get()->samples().size());
    EXPECT_LE(response.samples_size(), 5);
    for (const v1::SampleInfo& info : response.samples()) {
      EXPECT_TRUE(seen.insert(info.id()).second) << info.id() << " listed twice";
      EXPECT_GT(info.duration_seconds(), 0.0);
      EXPECT_EQ(info.original_sample_rate(), 44100u);
      EXPECT_EQ(info.original_channels(), 1u);
      EXPECT_EQ(info.format(), "WAV PCM_16");
    }
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(seen.size(), samples_->Get()->samples().size());

  v1::ListSamplesRequest kicks;
  kicks.set_prefix("kick/");
  v1::ListSamplesResponse kick_response;
  ASSERT_TRUE(stub_->ListSamples(Context().get(), kicks, &kick_response).ok());
  EXPECT_EQ(kick_response.samples_size(), 4);
  EXPECT_TRUE(kick_response.next_page_token().empty());

  v1::ListSamplesRequest bad;
  bad.set_page_token("garbage");
  v1::ListSamplesResponse ignored;
  EXPECT_EQ(stub_->ListSamples(Context().get(), bad, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  bad.set_page_token("");
  bad.set_page_size(5000);
  EXPECT_EQ(stub_->ListSamples(Context().get(), bad, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RenderServiceTest, HealthReportsServingUntilShutdown) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  for (const std::string name : {"", "deepdrummer.v1.RenderService"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(name);
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(Context().get(), request, &response).ok());
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << name;
  }
  server_->Shutdown(absl::Seconds(1));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_FALSE(health->Check(Context().get(), request, &response).ok()) << "the server is gone";
}

TEST_F(RenderServiceTest, RendersBeyondTheConcurrencyLimitAreRefusedAndProbesStillAnswer) {
  std::vector<AdmissionGate::Ticket> running = TakeEverySlot();
  ASSERT_EQ(running.size(), 64u);
  v1::RenderRequest request;
  *request.mutable_loop() = BasicLoop();
  v1::RenderResponse response;
  const grpc::Status refused = Render(request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(
      absl::StrContains(refused.error_message(), "dd-render is at its limit of 64 calls at once"))
      << refused.error_message();
  v1::RenderSteadyBarRequest bar_request;
  *bar_request.mutable_loop() = BasicLoop();
  v1::RenderSteadyBarResponse bar;
  EXPECT_EQ(stub_->RenderSteadyBar(Context().get(), bar_request, &bar).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // A refused call that breaks a rule is told about the rule, not about the load.
  request.set_repeats(17);
  EXPECT_EQ(Render(request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // Health checks and listing the samples are not limited.
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest check;
  grpc::health::v1::HealthCheckResponse serving;
  ASSERT_TRUE(health->Check(Context().get(), check, &serving).ok());
  EXPECT_EQ(serving.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  v1::ListSamplesResponse listed;
  EXPECT_TRUE(stub_->ListSamples(Context().get(), v1::ListSamplesRequest(), &listed).ok());
  EXPECT_EQ(admission_->in_flight(), 64) << "refused calls hold no slot";

  // Operators see the refusals in the server's metrics.
  httplib::Client scraper("127.0.0.1", server_->metrics_port());
  auto scraped = scraper.Get("/metrics");
  ASSERT_TRUE(scraped);
  for (const char* method : {"Render", "RenderSteadyBar"}) {
    const std::string line =
        absl::StrCat(R"(grpc_server_handled_total{grpc_type="unary",)",
                     R"(grpc_service="deepdrummer.v1.RenderService",grpc_method=")", method,
                     R"(",grpc_code="RESOURCE_EXHAUSTED"} 1)");
    EXPECT_TRUE(absl::StrContains(scraped->body, line)) << line << "\n" << scraped->body;
  }
}

TEST_F(RenderServiceTest, AWaitingRenderRunsAsSoonAsARunningCallEnds) {
  std::vector<AdmissionGate::Ticket> running = TakeEverySlot();
  AdmissionGate::Ticket ending = std::move(running.back());
  running.pop_back();
  std::thread end_soon([ticket = std::move(ending)]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    AdmissionGate::Ticket ended = std::move(ticket);
  });
  v1::RenderRequest request;
  *request.mutable_loop() = BasicLoop();
  v1::RenderResponse response;
  const grpc::Status status = Render(request, &response);
  end_soon.join();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_NEAR(response.duration_seconds(), 9.0, 1e-3);
  EXPECT_EQ(admission_->in_flight(), 63) << "the finished render gave its slot back";
}

// Two render replicas behind one client channel, the first at its limit and refusing at once:
// every call succeeds, its refused attempt retried on the other replica; without the channel's
// retries about half of them fail.
TEST(RenderReplicasTest, ACallRefusedByAReplicaAtItsLimitIsRetriedOnAnother) {
  auto samples = SampleLibraryHolder::Create(testing::DefaultKitDir());
  ASSERT_TRUE(samples.ok()) << samples.status();
  std::vector<std::unique_ptr<AdmissionGate>> gates;
  std::vector<std::unique_ptr<RenderService>> services;
  std::vector<std::unique_ptr<GrpcServer>> servers;
  for (const char* name : {"dd-render-full", "dd-render-free"}) {
    auto gate = AdmissionGate::Create(
        {.name = name, .max_concurrent = 1, .max_wait = absl::ZeroDuration()});
    ASSERT_TRUE(gate.ok());
    gates.push_back(*std::move(gate));
    services.push_back(std::make_unique<RenderService>(**samples, RenderServiceOptions{}, nullptr,
                                                       gates.back().get()));
    auto server = GrpcServer::Start(GrpcServerOptions{}, {services.back().get()});
    ASSERT_TRUE(server.ok()) << server.status();
    servers.push_back(*std::move(server));
  }
  auto full = gates[0]->Enter(absl::InfiniteFuture());
  ASSERT_TRUE(full.ok());
  const std::string target =
      absl::StrCat("ipv4:127.0.0.1:", servers[0]->port(), ",127.0.0.1:", servers[1]->port());
  v1::RenderRequest request;
  *request.mutable_loop() = BasicLoop();
  auto render = [&request](v1::RenderService::Stub& stub) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::RenderResponse response;
    return stub.Render(&context, request, &response);
  };

  auto retrying = v1::RenderService::NewStub(ClientChannel(target));
  for (int call = 0; call < 20; ++call) {
    const grpc::Status status = render(*retrying);
    EXPECT_TRUE(status.ok()) << "call " << call << ": " << status.error_message();
  }
  ClientChannelOptions without_retries;
  without_retries.retry_idempotent_calls = false;
  auto plain = v1::RenderService::NewStub(ClientChannel(target, without_retries));
  int refused = 0;
  for (int call = 0; call < 20; ++call) {
    const grpc::Status status = render(*plain);
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++refused;
  }
  EXPECT_GE(refused, 5) << "the full replica took a share of the calls";
}

}  // namespace
}  // namespace dd
