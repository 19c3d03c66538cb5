// dd-gateway as a process in front of the whole backend (the four services over a test
// PostgreSQL), called over HTTP as a web client would: a listener rates a loop, bad requests get
// JSON errors and change nothing, health and readiness, and shutdown on SIGTERM.
#include <signal.h>
#include <sys/wait.h>

#include <httplib.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/services/session/session_stack.h"

namespace dd {
namespace {
namespace v1 = deepdrummer::v1;
using google::protobuf::util::JsonStringToMessage;

constexpr int kMaxBodyBytes = 4096;

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new dd::testing::SessionStack("gateway");
    gateway_ = new dd::testing::ServiceProcess(
        DD_GATEWAY_BIN, {"--log_level=warning", "--session=" + stack_->session_address(),
                         "--max_body_bytes=" + std::to_string(kMaxBodyBytes)});
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete stack_;
  }
  void SetUp() override {
    ASSERT_TRUE(stack_->up());
    ASSERT_NE(gateway_->port(), 0) << "dd-gateway did not start";
  }

  static httplib::Client Client(int port) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(std::chrono::seconds(120));
    return client;
  }

  // POST /v1/SessionService/<method>; the reply's status and body ({-1, ""} when none came).
  static std::pair<int, std::string> Post(const std::string& method, const std::string& body,
                                          int port = 0) {
    httplib::Client client = Client(port == 0 ? gateway_->port() : port);
    auto result = client.Post("/v1/SessionService/" + method, body, "application/json");
    if (!result) return {-1, ""};
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
    return {result->status, result->body};
  }

  // An error reply's {"code": ..., "message": ...}, "code" first whatever the reply.
  static std::pair<std::string, std::string> Error(const std::string& body) {
    EXPECT_EQ(body.rfind("{\"code\":\"", 0), 0u) << body;
    google::protobuf::Struct error;
    EXPECT_TRUE(JsonStringToMessage(body, &error).ok()) << body;
    const auto field = [&error](const std::string& name) {
      const auto found = error.fields().find(name);
      return found == error.fields().end() ? std::string("(no ") + name + ")"
                                           : found->second.string_value();
    };
    return {field("code"), field("message")};
  }

  static inline dd::testing::SessionStack* stack_ = nullptr;
  static inline dd::testing::ServiceProcess* gateway_ = nullptr;
};

TEST_F(GatewayTest, AListenerRatesALoopOverHttp) {
  auto [status, body] = Post("CreateUser", R"({"displayName": "web listener"})");
  ASSERT_EQ(status, 200) << body;
  v1::User user;
  ASSERT_TRUE(JsonStringToMessage(body, &user).ok()) << body;
  EXPECT_EQ(user.display_name(), "web listener");

  std::tie(status, body) = Post("StartSession", R"({"userId": ")" + user.user_id() + R"(",
      "options": {"phase1Loops": 2, "phase2LoopsPerCritic": 1, "seed": 5,
                  "critic": {"minibatchesPerRating": 1, "minibatchSize": 2},
                  "sampler": {"minSteps": 4, "maxSteps": 6}}})");
  ASSERT_EQ(status, 200) << body;
  v1::Session session;
  ASSERT_TRUE(JsonStringToMessage(body, &session).ok()) << body;

  std::tie(status, body) = Post("NextLoop", R"({"sessionId": ")" + session.session_id() + "\"}");
  ASSERT_EQ(status, 200) << body.substr(0, 300);
  v1::NextLoopResponse loop;
  ASSERT_TRUE(JsonStringToMessage(body, &loop).ok());
  EXPECT_EQ(loop.position(), 1u);
  EXPECT_EQ(loop.loop().tracks_size(), 4);
  // Inline audio comes as base64 in JSON: a WAV of the 9 s loop.
  ASSERT_GT(loop.audio().size(), 44u);
  EXPECT_EQ(loop.audio().substr(0, 4), "RIFF");
  EXPECT_NEAR(loop.duration_seconds(), 9.0, 1e-6);

  std::tie(status, body) = Post("Rate", R"({"loopId": ")" + loop.loop_id() +
                                            R"(", "rating": "RATING_LIKE", "requestId": "web-1"})");
  ASSERT_EQ(status, 200) << body;
  v1::RateResponse rated;
  ASSERT_TRUE(JsonStringToMessage(body, &rated).ok());
  EXPECT_EQ(rated.progress().phase1_rated(), 1u);

  std::tie(status, body) = Post("GetSession", R"({"sessionId": ")" + session.session_id() + "\"}");
  ASSERT_EQ(status, 200) << body;
  // Fields at their defaults are printed too, so clients need not know proto3's defaults.
  EXPECT_NE(body.find("\"dislikes\":0"), std::string::npos) << body;
  ASSERT_TRUE(JsonStringToMessage(body, &session).ok());
  EXPECT_EQ(session.likes(), 1u);
  EXPECT_EQ(stack_->Count("SELECT count(*) FROM session.ratings r JOIN session.loops l USING "
                          "(loop_id) WHERE l.session_id = '" +
                          session.session_id() + "'"),
            1);
}

TEST_F(GatewayTest, BadRequestsGetJsonErrorsAndChangeNothing) {
  const int64_t users = stack_->Count("SELECT count(*) FROM session.users");

  auto [status, body] = Post("CreateUser", "not json");
  EXPECT_EQ(status, 400);
  auto [code, message] = Error(body);
  EXPECT_EQ(code, "INVALID_ARGUMENT");
  EXPECT_NE(message.find("not a JSON CreateUserRequest"), std::string::npos) << message;

  std::tie(status, body) = Post("CreateUser", R"({"displayNme": "typo"})");
  EXPECT_EQ(status, 400);
  std::tie(code, message) = Error(body);
  EXPECT_EQ(code, "INVALID_ARGUMENT");
  EXPECT_NE(message.find("displayNme"), std::string::npos) << message;

  std::tie(status, body) = Post("NoSuchMethod", "{}");
  EXPECT_EQ(status, 404);
  std::tie(code, message) = Error(body);
  EXPECT_EQ(code, "NOT_FOUND");
  EXPECT_EQ(message, "no method 'NoSuchMethod' in SessionService over HTTP");

  // dd-session's own errors come through with their code and message.
  std::tie(status, body) = Post("GetUser", R"({"userId": "00000000-0000-4000-8000-000000000000"})");
  EXPECT_EQ(status, 404);
  std::tie(code, message) = Error(body);
  EXPECT_EQ(code, "NOT_FOUND");
  EXPECT_NE(message.find("00000000-0000-4000-8000-000000000000"), std::string::npos) << message;
  std::tie(status, body) = Post("Rate", R"({"loopId": "nope", "requestId": "r"})");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(Error(body).first, "INVALID_ARGUMENT");

  std::tie(status, body) =
      Post("CreateUser", R"({"displayName": ")" + std::string(kMaxBodyBytes, 'x') + "\"}");
  EXPECT_EQ(status, 413);
  std::tie(code, message) = Error(body);
  EXPECT_EQ(code, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(message, "the request body is larger than --max_body_bytes");

  httplib::Client client = Client(gateway_->port());
  auto result = client.Get("/v1/elsewhere");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(Error(result->body).second, "no route for GET /v1/elsewhere");

  EXPECT_EQ(stack_->Count("SELECT count(*) FROM session.users"), users);
}

TEST_F(GatewayTest, ReadyOnlyWhileTheSessionServiceServes) {
  httplib::Client client = Client(gateway_->port());
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;

  // A gateway whose dd-session is not there: alive, not ready, and calls get UNAVAILABLE (503).
  dd::testing::ServiceProcess orphan(
      DD_GATEWAY_BIN, {"--log_level=warning", "--session=127.0.0.1:1", "--call_timeout=5s"});
  ASSERT_NE(orphan.port(), 0);
  httplib::Client orphan_client = Client(orphan.port());
  health = orphan_client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  ready = orphan_client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(Error(ready->body).first, "UNAVAILABLE");
  auto [status, body] = Post("CreateUser", R"({"displayName": "x"})", orphan.port());
  EXPECT_EQ(status, 503);
  auto [code, message] = Error(body);
  EXPECT_EQ(code, "UNAVAILABLE");
  EXPECT_EQ(message.rfind("dd-session: ", 0), 0u) << message;

  const int exit_status = orphan.Kill(SIGTERM);
  ASSERT_TRUE(WIFEXITED(exit_status));
  EXPECT_EQ(WEXITSTATUS(exit_status), 0);
}

TEST_F(GatewayTest, BrowsersOfTheConfiguredOriginMayCall) {
  // The default gateway sends no CORS headers.
  httplib::Client plain = Client(gateway_->port());
  auto result = plain.Get("/healthz");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->has_header("Access-Control-Allow-Origin"));

  dd::testing::ServiceProcess gateway(
      DD_GATEWAY_BIN, {"--log_level=warning", "--session=" + stack_->session_address(),
                       "--cors_origin=https://app.example"});
  ASSERT_NE(gateway.port(), 0);
  httplib::Client client = Client(gateway.port());
  result = client.Options("/v1/SessionService/CreateUser",
                          {{"Origin", "https://app.example"},
                           {"Access-Control-Request-Method", "POST"},
                           {"Access-Control-Request-Headers", "content-type"}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 204);
  EXPECT_EQ(result->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(result->get_header_value("Access-Control-Allow-Methods"), "POST");
  EXPECT_EQ(result->get_header_value("Access-Control-Allow-Headers"), "Content-Type");

  result = client.Post("/v1/SessionService/GetUser", {{"Origin", "https://app.example"}},
                       R"({"userId": "x"})", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  // Errors carry the header too, so the page can read them.
  EXPECT_EQ(result->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
}

TEST_F(GatewayTest, ServesMetricsOfApiCallsByMethodAndStatus) {
  const int metrics_port = dd::testing::FreeLoopbackPort();
  dd::testing::ServiceProcess gateway(
      DD_GATEWAY_BIN, {"--log_level=warning", "--session=" + stack_->session_address(),
                       "--metrics_port=" + std::to_string(metrics_port)});
  ASSERT_NE(gateway.port(), 0);
  EXPECT_EQ(Post("CreateUser", R"({"displayName": "metrics"})", gateway.port()).first, 200);
  EXPECT_EQ(Post("CreateUser", R"({"displayName": "metrics-2"})", gateway.port()).first, 200);
  EXPECT_EQ(Post("GetUser", R"({"userId": "not-a-uuid"})", gateway.port()).first, 400);
  EXPECT_EQ(Post("MadeUp", "{}", gateway.port()).first, 404);

  httplib::Client scraper = Client(metrics_port);
  auto scraped = scraper.Get("/metrics");
  ASSERT_TRUE(scraped) << "no metrics on port " << metrics_port;
  EXPECT_EQ(scraped->status, 200);
  for (const std::string line : {
           R"(gateway_http_requests_total{rpc="CreateUser",status="200"} 2)",
           R"(gateway_http_requests_total{rpc="GetUser",status="400"} 1)",
           R"(gateway_http_requests_total{rpc="unknown",status="404"} 1)",
           R"(gateway_http_request_seconds_count{rpc="CreateUser"} 2)",
       }) {
    EXPECT_NE(scraped->body.find(line + "\n"), std::string::npos) << line << "\n" << scraped->body;
  }
  EXPECT_EQ(scraped->body.find("MadeUp"), std::string::npos);
}

}  // namespace
}  // namespace dd
