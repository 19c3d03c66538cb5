// GatewayHttpServer in this process, on a loopback port, with no dd-session behind it (its
// channel points at a port nothing listens on): what the HTTP layer answers by itself, how a
// session service that cannot be reached looks to a web client, the probes, the metrics, and
// shutdown. The whole backend behind the gateway process is gateway_test's.
#include "services/gateway/http_server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/shared/listen_socket.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {

// That `reply` came with `status` and a body containing `text`; what came instead if not.
::testing::AssertionResult Answered(const httplib::Result& reply, int status,
                                    const char* text = "") {
  if (!reply) return ::testing::AssertionFailure() << "no reply";
  if (reply->status != status || !absl::StrContains(reply->body, text)) {
    return ::testing::AssertionFailure() << "status " << reply->status << ": " << reply->body;
  }
  return ::testing::AssertionSuccess();
}

class GatewayHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", dd::testing::FreeLoopbackPort()),
                                   grpc::InsecureChannelCredentials());
    stub_ = deepdrummer::v1::SessionService::NewStub(channel_);
    SessionGatewayOptions options;
    options.call_timeout = absl::Milliseconds(500);
    auto gateway = SessionGateway::Create(*stub_, options);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    if (serving_.joinable()) serving_.join();
  }

  // Starts a server with `options` on a free port; false if it did not.
  bool Start(GatewayHttpOptions options = {}) {
    auto created = GatewayHttpServer::Create(
        *gateway_, R"({"openapi":"3.0.3"})",
        [this] { return session_ready_ ? absl::OkStatus() : absl::UnavailableError("no session"); },
        options, &registry_);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return false;
    server_ = *std::move(created);
    auto port = server_->Bind("127.0.0.1", 0);
    EXPECT_TRUE(port.ok()) << port.status();
    if (!port.ok()) return false;
    port_ = *port;
    serving_ = std::thread([this] { server_->Serve(); });
    return true;
  }

  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(std::chrono::seconds(30));
    return client;
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<deepdrummer::v1::SessionService::Stub> stub_;
  std::unique_ptr<SessionGateway> gateway_;
  metrics::Registry registry_;
  std::atomic<bool> session_ready_{false};
  std::unique_ptr<GatewayHttpServer> server_;
  std::thread serving_;
  int port_ = 0;
};

TEST_F(GatewayHttpServerTest, OptionsOutOfRangeAreRefusedWithTheirName) {
  GatewayHttpOptions no_threads;
  no_threads.threads = 0;
  GatewayHttpOptions tiny_body;
  tiny_body.max_body_bytes = 100;
  GatewayHttpOptions no_wait;
  no_wait.max_queue_wait = absl::ZeroDuration();
  for (const auto& [options, name] :
       {std::pair{no_threads, "threads"}, std::pair{tiny_body, "max_body_bytes"},
        std::pair{no_wait, "max_queue_wait"}}) {
    auto created = GatewayHttpServer::Create(*gateway_, "{}", nullptr, options);
    ASSERT_FALSE(created.ok()) << name;
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(created.status().message(), name)) << created.status();
  }
}

TEST_F(GatewayHttpServerTest, AnswersByItselfWhatNeedsNoSessionService) {
  GatewayHttpOptions options;
  options.max_body_bytes = 2048;
  ASSERT_TRUE(Start(options));
  httplib::Client client = Client();

  auto document = client.Get("/v1/openapi.json");
  ASSERT_TRUE(Answered(document, 200));
  EXPECT_EQ(document->body, R"({"openapi":"3.0.3"})");

  auto wrong_method = client.Get("/v1/SessionService/CreateUser");
  ASSERT_TRUE(Answered(wrong_method, 405, R"("code":"UNIMPLEMENTED")"));
  EXPECT_EQ(wrong_method->get_header_value("Allow"), "POST");

  auto no_route = client.Get("/v2/anything", {{"X-Request-Id", "lost-client-1"}});
  ASSERT_TRUE(Answered(no_route, 404, R"(no route for GET \"/v2/anything\")"));
  // Answered by the HTTP layer, yet with the request's id and counted like any other.
  EXPECT_EQ(no_route->get_header_value("X-Request-Id"), "lost-client-1");
  EXPECT_TRUE(absl::StrContains(registry_.Exposition(),
                                R"(gateway_http_requests_total{rpc="unknown",status="404"} 1)"))
      << registry_.Exposition();

  auto too_large =
      client.Post("/v1/SessionService/CreateUser", std::string(4096, ' '), "application/json");
  ASSERT_TRUE(Answered(too_large, 413, "the request body is larger than 2048 bytes"));
  EXPECT_EQ(too_large->get_header_value("X-Request-Id").size(), 32u);  // A new one.
  for (const auto* reply : {&document, &wrong_method, &no_route, &too_large})
    EXPECT_EQ((*reply)->get_header_value("X-Content-Type-Options"), "nosniff");

  // Bodies the HTTP layer cannot bound are refused in the API's JSON form, and counted.
  auto compressed = client.Post("/v1/SessionService/CreateUser", {{"Content-Encoding", "gzip"}},
                                std::string(100, ' '), "application/json");
  ASSERT_TRUE(Answered(
      compressed, 415,
      R"({"code":"INVALID_ARGUMENT","message":"request bodies are taken uncompressed, not as \"gzip\""})"));
  EXPECT_EQ(compressed->get_header_value("Connection"), "close");
  // 1 MiB in chunks, which cpp-httplib alone read whole (and then found no JSON in: a 400).
  size_t sent = 0;
  auto chunked = Client().Post(
      "/v1/SessionService/CreateUser",
      [&sent](size_t, httplib::DataSink& sink) {
        const std::string chunk(1024, ' ');
        sent += chunk.size();
        return sent <= (1u << 20) ? sink.write(chunk.data(), chunk.size()) : (sink.done(), true);
      },
      "application/json");
  ASSERT_TRUE(Answered(chunked, 413, R"("code":"RESOURCE_EXHAUSTED")"));
  EXPECT_TRUE(absl::StrContains(registry_.Exposition(),
                                R"(gateway_http_requests_total{rpc="unknown",status="415"} 1)"))
      << registry_.Exposition();

  // Not JSON of the request message: refused here, never sent on.
  auto not_json = client.Post("/v1/SessionService/CreateUser", "{", "application/json");
  ASSERT_TRUE(Answered(not_json, 400, "not a JSON CreateUserRequest"));
}

TEST_F(GatewayHttpServerTest, ASessionServiceOutOfReachIsA503WithTheRequestId) {
  ASSERT_TRUE(Start());
  auto reply = Client().Post("/v1/SessionService/CreateUser", {{"X-Request-Id", "web-42"}},
                             R"({"displayName":"ana"})", "application/json");
  ASSERT_TRUE(Answered(reply, 503, R"("code":"UNAVAILABLE")"));
  EXPECT_EQ(reply->get_header_value("X-Request-Id"), "web-42");
  EXPECT_EQ(reply->get_header_value("Retry-After"), "1");
  // Counted under its method and status.
  EXPECT_TRUE(absl::StrContains(registry_.Exposition(),
                                R"(gateway_http_requests_total{rpc="CreateUser",status="503"} 1)"))
      << registry_.Exposition();
}

TEST_F(GatewayHttpServerTest, ProbesFollowTheSessionServiceAndShutdown) {
  ASSERT_TRUE(Start());
  httplib::Client client = Client();
  auto not_ready = client.Get("/readyz");
  ASSERT_TRUE(Answered(not_ready, 503, "no session"));
  session_ready_ = true;
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(Answered(ready, 200));
  auto alive = client.Get("/healthz", {{"X-Request-Id", "probe-7"}});
  ASSERT_TRUE(Answered(alive, 200));
  EXPECT_EQ(alive->get_header_value("X-Request-Id"), "probe-7");  // Probes carry ids too.
  EXPECT_EQ(ready->get_header_value("X-Request-Id").size(), 32u);
  EXPECT_TRUE(server_->serving());

  server_->Shutdown();
  serving_.join();  // Serve() returns once shut down.
  EXPECT_FALSE(server_->serving());
  EXPECT_EQ(server_->Ready().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(Client().Get("/healthz"));  // No longer accepting.
}

TEST_F(GatewayHttpServerTest, ServesOnlyTheMethodsItIsGiven) {
  // The names --methods accepts are the methods a full gateway serves, and the audio GET.
  std::vector<std::string> full = gateway_->Methods();
  full.push_back("StreamLoopAudio");
  std::sort(full.begin(), full.end());
  EXPECT_EQ(SessionGateway::AllMethods(), full);
  EXPECT_TRUE(gateway_->ServesLoopAudio());

  SessionGatewayOptions bogus;
  bogus.methods = {"CreateUser", "DropTables"};
  auto refused = SessionGateway::Create(*stub_, bogus);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "got \"DropTables\""))
      << refused.status();

  SessionGatewayOptions listening;
  listening.methods = {"NextLoop", "CreateUser", "Rate"};
  auto made = SessionGateway::Create(*stub_, listening);
  ASSERT_TRUE(made.ok()) << made.status();
  gateway_ = *std::move(made);
  EXPECT_EQ(gateway_->Methods(), (std::vector<std::string>{"CreateUser", "NextLoop", "Rate"}));
  EXPECT_FALSE(gateway_->ServesLoopAudio());
  ASSERT_TRUE(Start());
  httplib::Client client = Client();
  auto left_out =
      client.Post("/v1/SessionService/DeleteUser", R"({"userId":"x"})", "application/json");
  ASSERT_TRUE(Answered(left_out, 404,
                       "this gateway does not serve DeleteUser (see its --methods); it serves "
                       "CreateUser, NextLoop, Rate"));
  auto audio = client.Get("/v1/loops/5223b667-92e5-485a-b1b3-d2882c1abb2d/audio");
  ASSERT_TRUE(Answered(audio, 404, "does not serve loop audio"));
  // A method it serves goes on to dd-session (here out of reach).
  auto served = client.Post("/v1/SessionService/CreateUser", "{}", "application/json");
  ASSERT_TRUE(Answered(served, 503));
}

// Browsers send "gzip, deflate, br"; cpp-httplib would answer with Brotli at its slowest
// setting (0.62 s for a NextLoop with its audio inline), so replies use gzip, or nothing.
TEST_F(GatewayHttpServerTest, CompressesWithGzipNeverBrotli) {
  ASSERT_TRUE(Start());
  for (const auto& [accepted, expected] :
       {std::pair{"gzip, deflate, br", "gzip"}, std::pair{"br;q=1.0, gzip;q=0.8", "gzip"},
        std::pair{"BR", ""}, std::pair{"", ""}}) {
    httplib::Client client = Client();
    auto reply = client.Get("/v1/openapi.json", {{"Accept-Encoding", accepted}});
    ASSERT_TRUE(Answered(reply, 200)) << accepted;
    EXPECT_EQ(reply->get_header_value("Content-Encoding"), expected) << accepted;
    EXPECT_EQ(reply->body, R"({"openapi":"3.0.3"})") << accepted;  // Decompressed by the client.
  }
}

// A SIGTERM may come before the serving thread listens; cpp-httplib's own stop() would miss it
// and the server would serve on for ever.
TEST_F(GatewayHttpServerTest, AShutdownRightAfterStartEndsTheServer) {
  for (int round = 0; round < 50; ++round) {
    auto server = GatewayHttpServer::Create(*gateway_, "{}", nullptr, {});
    ASSERT_TRUE(server.ok()) << server.status();
    ASSERT_TRUE((*server)->Bind("127.0.0.1", 0).ok());
    std::thread serving([&server] { (*server)->Serve(); });
    (*server)->Shutdown();
    serving.join();
    EXPECT_FALSE((*server)->serving());
  }
}

TEST(ErrorJsonTest, IsValidUtf8JsonWithTheCodeFirst) {
  EXPECT_EQ(ErrorJson(grpc::StatusCode::NOT_FOUND, "no \"caf\xE9\"\n"),
            "{\"code\":\"NOT_FOUND\",\"message\":\"no \\\"caf\xEF\xBF\xBD\\\"\\n\"}");
}

// cpp-httplib's SO_REUSEPORT let a second gateway bind a port in use and take a share of the
// first one's clients.
TEST_F(GatewayHttpServerTest, APortInUseIsAnErrorNotASharedPort) {
  ASSERT_TRUE(Start());
  auto second = GatewayHttpServer::Create(*gateway_, "{}", nullptr, {});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->Bind("127.0.0.1", port_).status(),
            CannotListen("listen", "127.0.0.1", port_));
}

TEST_F(GatewayHttpServerTest, AllowedOriginsAreNamedInPreflightsAndReplies) {
  GatewayHttpOptions options;
  options.cors_origins = {"https://app.example.com", "https://staging.example.com"};
  ASSERT_TRUE(Start(options));
  httplib::Client client = Client();
  auto preflight =
      client.Options("/v1/SessionService/NextLoop", {{"Origin", "https://app.example.com"}});
  ASSERT_TRUE(Answered(preflight, 204));
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Methods"), "POST");
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(preflight->get_header_value_count("X-Request-Id"), 1u);
  // A reply names the one allowed origin that asked, errors of the HTTP layer included, and
  // says that it varies with Origin; another origin is named nowhere.
  for (const char* origin : {"https://staging.example.com", "https://evil.example.com"}) {
    const bool allowed = std::string(origin) != "https://evil.example.com";
    auto reply = client.Get("/v2/no-route", {{"Origin", origin}});
    ASSERT_TRUE(Answered(reply, 404)) << origin;
    EXPECT_EQ(reply->get_header_value("Access-Control-Allow-Origin"), allowed ? origin : "")
        << origin;
    EXPECT_EQ(reply->get_header_value("Access-Control-Expose-Headers"), "X-Request-Id");
    EXPECT_EQ(reply->get_header_value("Vary"), "Origin");
    EXPECT_EQ(reply->get_header_value_count("X-Request-Id"), 1u);  // Set once, not twice.
  }
}

TEST_F(GatewayHttpServerTest, AnyOriginIsAStar) {
  GatewayHttpOptions options;
  options.cors_origins = {"https://app.example.com", "*"};  // The star covers the other.
  ASSERT_TRUE(Start(options));
  for (const char* origin : {"https://anywhere.example", "https://app.example.com"}) {
    auto reply = Client().Get("/healthz", {{"Origin", origin}});
    ASSERT_TRUE(Answered(reply, 200));
    // One value: a browser refuses a reply that names two.
    EXPECT_EQ(reply->get_header_value_count("Access-Control-Allow-Origin"), 1u) << origin;
    EXPECT_EQ(reply->get_header_value("Access-Control-Allow-Origin"), "*") << origin;
  }
}

}  // namespace
}  // namespace dd
