// dd-gateway as a process in front of the whole backend (the four services over a test
// PostgreSQL), called over HTTP as a web client would: a listener rates a loop, bad requests get
// JSON errors and change nothing, health and readiness, shutdown on SIGTERM, and one request id
// in the logs of every service a request reaches.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/services/session/session_stack.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {
namespace v1 = deepdrummer::v1;
using google::protobuf::util::JsonStringToMessage;

constexpr int kMaxBodyBytes = 4096;

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    logs_ = new dd::testing::TempDir();
    dd::testing::SessionStackOptions options;
    options.log_dir = logs_->path();
    stack_ = new dd::testing::SessionStack("gateway", options);
    gateway_ = new dd::testing::ServiceProcess(
        DD_GATEWAY_BIN,
        {"--log_level=info", "--session=" + stack_->session_address(),
         "--max_body_bytes=" + std::to_string(kMaxBodyBytes)},
        logs_->path() / "gateway.log");
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete stack_;
    // The services logged to files: show their warnings and errors when a test failed.
    if (::testing::UnitTest::GetInstance()->failed_test_count() > 0) {
      for (const auto& file : std::filesystem::directory_iterator(logs_->path())) {
        std::ifstream in(file.path());
        for (std::string line; std::getline(in, line);) {
          if (line.find(R"("level":"warning")") != std::string::npos ||
              line.find(R"("level":"error")") != std::string::npos) {
            std::cerr << file.path().filename().string() << ": " << line << "\n";
          }
        }
      }
    }
    delete logs_;
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

  // A call that must succeed, sent with its own X-Request-Id (echoed back); the reply's body.
  static std::string PostWithId(const std::string& method, const std::string& body,
                                const std::string& request_id) {
    auto result = Client(gateway_->port())
                      .Post("/v1/SessionService/" + method, {{"X-Request-Id", request_id}}, body,
                            "application/json");
    EXPECT_TRUE(result);
    if (!result) return "";
    EXPECT_EQ(result->status, 200) << method << ": " << result->body.substr(0, 300);
    EXPECT_EQ(result->get_header_value("X-Request-Id"), request_id) << method;
    return result->body;
  }

  // A StartSession body for a short session (2 + 1 + 1 loops) with a cheap critic and sampler.
  static std::string SmallSession(const std::string& user_id, int seed) {
    return R"({"userId": ")" + user_id + R"(",
      "options": {"phase1Loops": 2, "phase2LoopsPerCritic": 1, "seed": )" +
           std::to_string(seed) + R"(,
                  "critic": {"minibatchesPerRating": 1, "minibatchSize": 2},
                  "sampler": {"minSteps": 4, "maxSteps": 6}}})";
  }

  // CreateUser over HTTP under `request_id`; the user (empty when the call failed, which is
  // reported).
  static v1::User CreateUserWithId(const std::string& display_name, const std::string& request_id) {
    v1::User user;
    EXPECT_TRUE(
        JsonStringToMessage(
            PostWithId("CreateUser", R"({"displayName": ")" + display_name + R"("})", request_id),
            &user)
            .ok());
    return user;
  }

  // NextLoop over HTTP with the audio by reference; the reply (empty when the call failed, which
  // is reported).
  static v1::NextLoopResponse NextLoopByReference(const std::string& session_id) {
    auto [status, body] =
        Post("NextLoop", R"({"sessionId": ")" + session_id +
                             R"(", "audioDelivery": "AUDIO_DELIVERY_REFERENCE"})");
    v1::NextLoopResponse loop;
    EXPECT_EQ(status, 200) << body;
    EXPECT_TRUE(status == 200 && JsonStringToMessage(body, &loop).ok()) << body;
    return loop;
  }

  // A TCP connection to the loopback port (30 s receive timeout), or -1.
  static int ConnectedSocket(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    timeval timeout{30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      ADD_FAILURE() << "cannot connect to port " << port;
      close(fd);
      return -1;
    }
    return fd;
  }

  // Sends `request` as it is over a fresh connection and returns everything the gateway answers
  // until it closes the connection (the request should say "Connection: close").
  static std::string RawExchange(int port, const std::string& request) {
    const int fd = ConnectedSocket(port);
    std::string answer;
    if (fd >= 0 &&
        send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;)
        answer.append(buffer, static_cast<size_t>(n));
    }
    if (fd >= 0) close(fd);
    return answer;
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

  static inline dd::testing::TempDir* logs_ = nullptr;
  static inline dd::testing::SessionStack* stack_ = nullptr;
  static inline dd::testing::ServiceProcess* gateway_ = nullptr;
};

TEST_F(GatewayTest, AListenerRatesALoopOverHttp) {
  auto [status, body] = Post("CreateUser", R"({"displayName": "web listener"})");
  ASSERT_EQ(status, 200) << body;
  v1::User user;
  ASSERT_TRUE(JsonStringToMessage(body, &user).ok()) << body;
  EXPECT_EQ(user.display_name(), "web listener");

  std::tie(status, body) = Post("StartSession", SmallSession(user.user_id(), 5));
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
  EXPECT_EQ(message,
            "no method \"NoSuchMethod\" in SessionService over HTTP; the methods are CreateUser, "
            "DeleteUser, ExportSession, GetResults, GetSession, GetUser, ListSessions, NextLoop, "
            "Rate, StartSession");
  std::tie(status, body) = Post("createUser", "{}");
  EXPECT_EQ(status, 404);
  EXPECT_NE(Error(body).second.find("did you mean 'CreateUser'?"), std::string::npos) << body;
  std::tie(status, body) = Post("StreamLoopAudio", "{}");
  EXPECT_EQ(status, 404);
  EXPECT_NE(Error(body).second.find("GET /v1/loops/<audioRef>/audio"), std::string::npos) << body;
  std::tie(status, body) = Post("CreateUser", "[]");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(Error(body).second,
            "the body is not a JSON CreateUserRequest: Root element must be a message.");

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
  EXPECT_EQ(message, absl::StrCat("the request body is larger than ", kMaxBodyBytes, " bytes"));

  // A Range header the HTTP layer cannot parse is refused before any route, with its reason.
  httplib::Client ranged = Client(gateway_->port());
  auto refused = ranged.Post("/v1/SessionService/CreateUser", {{"Range", "items=0-1"}}, "{}",
                             "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 416);
  std::tie(code, message) = Error(refused->body);
  EXPECT_EQ(code, "OUT_OF_RANGE");
  EXPECT_EQ(message,
            "the Range header \"items=0-1\" is not understood; only byte ranges are "
            "(bytes=0-1023)");

  // A body the HTTP layer cannot read (a chunk size that is not hex) is a JSON error that says
  // what a POST must send, not a bare "HTTP 400".
  const std::string unreadable = RawExchange(
      gateway_->port(),
      "POST /v1/SessionService/CreateUser HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
  EXPECT_EQ(unreadable.rfind("HTTP/1.1 400", 0), 0u) << unreadable;
  const size_t json = unreadable.find("{\"code\"");
  ASSERT_NE(json, std::string::npos) << unreadable;
  std::tie(code, message) = Error(unreadable.substr(json));
  EXPECT_EQ(code, "INVALID_ARGUMENT");
  EXPECT_NE(message.find("Content-Length"), std::string::npos) << message;

  httplib::Client client = Client(gateway_->port());
  auto result = client.Get("/v1/elsewhere");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(Error(result->body).second, "no route for GET \"/v1/elsewhere\"");

  // A path the gateway serves, asked with another method: 405 with the methods it takes.
  result = client.Get("/v1/SessionService/CreateUser");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 405);
  EXPECT_EQ(result->get_header_value("Allow"), "POST");
  std::tie(code, message) = Error(result->body);
  EXPECT_EQ(code, "UNIMPLEMENTED");
  EXPECT_EQ(message, "/v1/SessionService/CreateUser takes POST, not GET");
  // A method the gateway does not serve has no route at all, whatever the HTTP method: a 405
  // would send the client to a POST that is a 404 again.
  result = client.Get("/v1/SessionService/Nope");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(result->get_header_value("Allow"), "");
  result = client.Post("/healthz", "", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 405);
  EXPECT_EQ(result->get_header_value("Allow"), "GET, HEAD");

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
  const int metrics_port = dd::testing::FreeLoopbackPort();
  dd::testing::ServiceProcess orphan(
      DD_GATEWAY_BIN, {"--log_level=warning", "--session=127.0.0.1:1", "--call_timeout=5s",
                       "--metrics_port=" + std::to_string(metrics_port)});
  ASSERT_NE(orphan.port(), 0);
  // The same on the metrics port, where Kubernetes probes them.
  for (const int port : {orphan.port(), metrics_port}) {
    httplib::Client probe = Client(port);
    health = probe.Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    ready = probe.Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 503);
    auto [ready_code, ready_message] = Error(ready->body);
    EXPECT_EQ(ready_code, "UNAVAILABLE");
    EXPECT_EQ(ready_message.rfind("dd-session: ", 0), 0u) << ready_message;
  }
  auto [status, body] = Post("CreateUser", R"({"displayName": "x"})", orphan.port());
  EXPECT_EQ(status, 503);
  auto [code, message] = Error(body);
  EXPECT_EQ(code, "UNAVAILABLE");
  EXPECT_EQ(message.rfind("dd-session: ", 0), 0u) << message;

  const int exit_status = orphan.Kill(SIGTERM);
  ASSERT_TRUE(WIFEXITED(exit_status));
  EXPECT_EQ(WEXITSTATUS(exit_status), 0);
}

TEST_F(GatewayTest, AnswersProbesOnTheMetricsPortWhileEveryHttpThreadIsBusy) {
  const int metrics_port = dd::testing::FreeLoopbackPort();
  dd::testing::ServiceProcess gateway(
      DD_GATEWAY_BIN, {"--log_level=warning", "--session=" + stack_->session_address(),
                       "--threads=1", "--metrics_port=" + std::to_string(metrics_port)});
  ASSERT_NE(gateway.port(), 0);
  // A client that connects and sends nothing holds the only HTTP thread (up to the 5 s read
  // timeout), as slow API calls would hold all of them.
  const int silent = ConnectedSocket(gateway.port());
  ASSERT_GE(silent, 0);
  httplib::Client probe = Client(metrics_port);
  probe.set_read_timeout(std::chrono::seconds(2));
  auto ready = probe.Get("/readyz");
  ASSERT_TRUE(ready) << httplib::to_string(ready.error());
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_EQ(ready->body, R"({"status":"SERVING"})");
  auto alive = probe.Get("/healthz");
  ASSERT_TRUE(alive) << httplib::to_string(alive.error());
  EXPECT_EQ(alive->status, 200);
  // The API port's own /readyz waits behind the silent client.
  httplib::Client api("127.0.0.1", gateway.port());
  api.set_read_timeout(std::chrono::seconds(1));
  EXPECT_FALSE(api.Get("/readyz"));
  close(silent);
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
  // Preflights: a JSON POST, and a page's fetch() of a loop's audio with its own request id.
  struct Preflight {
    std::string path, method, headers, allowed_headers;
  };
  for (const Preflight& preflight : std::vector<Preflight>{
           {"/v1/SessionService/CreateUser", "POST", "content-type", "Content-Type, X-Request-Id"},
           {"/v1/loops/00000000-0000-4000-8000-000000000000/audio", "GET", "x-request-id",
            "Range, X-Request-Id"}}) {
    result =
        client.Options(preflight.path, {{"Origin", "https://app.example"},
                                        {"Access-Control-Request-Method", preflight.method},
                                        {"Access-Control-Request-Headers", preflight.headers}});
    ASSERT_TRUE(result) << preflight.path;
    EXPECT_EQ(result->status, 204) << preflight.path;
    EXPECT_EQ(result->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
    EXPECT_EQ(result->get_header_value("Access-Control-Allow-Methods"), preflight.method);
    EXPECT_EQ(result->get_header_value("Access-Control-Allow-Headers"), preflight.allowed_headers);
  }

  result = client.Post("/v1/SessionService/GetUser", {{"Origin", "https://app.example"}},
                       R"({"userId": "x"})", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  // Errors carry the header too, so the page can read them, and the request id to report.
  EXPECT_EQ(result->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(result->get_header_value("Access-Control-Expose-Headers"), "X-Request-Id");
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

TEST_F(GatewayTest, ServesALoopsAudioByReferenceForAudioElements) {
  auto [status, body] = Post("CreateUser", R"({"displayName": "listener by reference"})");
  ASSERT_EQ(status, 200) << body;
  v1::User user;
  ASSERT_TRUE(JsonStringToMessage(body, &user).ok());
  std::tie(status, body) = Post("StartSession", SmallSession(user.user_id(), 11));
  ASSERT_EQ(status, 200) << body;
  v1::Session session;
  ASSERT_TRUE(JsonStringToMessage(body, &session).ok());
  const std::string next = R"({"sessionId": ")" + session.session_id() + R"("})";
  const v1::NextLoopResponse by_reference = NextLoopByReference(session.session_id());
  EXPECT_TRUE(by_reference.audio().empty());
  ASSERT_FALSE(by_reference.audio_ref().empty());
  EXPECT_DOUBLE_EQ(by_reference.duration_seconds(), 9.0);  // Known before the audio is fetched.
  // The same loop again (not rated yet), this time with its audio inline, to compare.
  std::tie(status, body) = Post("NextLoop", next);
  ASSERT_EQ(status, 200) << body.substr(0, 300);
  v1::NextLoopResponse inline_audio;
  ASSERT_TRUE(JsonStringToMessage(body, &inline_audio).ok());
  ASSERT_EQ(inline_audio.loop_id(), by_reference.loop_id());

  httplib::Client client = Client(gateway_->port());
  const std::string path = "/v1/loops/" + by_reference.audio_ref() + "/audio";
  auto wav = client.Get(path + "?userId=" + user.user_id());
  ASSERT_TRUE(wav);
  EXPECT_EQ(wav->status, 200) << wav->body.substr(0, 300);
  EXPECT_EQ(wav->get_header_value("Content-Type"), "audio/wav");
  EXPECT_EQ(wav->body, inline_audio.audio());
  EXPECT_FALSE(wav->get_header_value("X-Request-Id").empty());
  EXPECT_TRUE(absl::StrContains(wav->get_header_value("Cache-Control"), "immutable"));
  EXPECT_EQ(wav->get_header_value("Accept-Ranges"), "bytes");
  // A media player's first request (Safari's): a part of the file, answered as a part.
  auto part = client.Get(path, {{"Range", "bytes=0-1"}});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, inline_audio.audio().substr(0, 2));
  EXPECT_EQ(part->get_header_value("Content-Range"),
            absl::StrCat("bytes 0-1/", inline_audio.audio().size()));
  // A range past the end: 416, the size to ask within, and why, as JSON.
  const std::string past_end = absl::StrCat("bytes=", inline_audio.audio().size(), "-");
  auto beyond = client.Get(path, {{"Range", past_end}});
  ASSERT_TRUE(beyond);
  EXPECT_EQ(beyond->status, 416);
  EXPECT_EQ(beyond->get_header_value("Content-Range"),
            absl::StrCat("bytes */", inline_audio.audio().size()));
  const auto [range_code, range_message] = Error(beyond->body);
  EXPECT_EQ(range_code, "OUT_OF_RANGE");
  EXPECT_EQ(range_message, absl::StrCat("the Range header \"", past_end, "\" asks for none of the ",
                                        "audio's ", inline_audio.audio().size(), " bytes"));
  auto last_bytes = client.Get(path, {{"Range", "bytes=-3"}});  // A suffix is within.
  ASSERT_TRUE(last_bytes);
  EXPECT_EQ(last_bytes->status, 206);
  EXPECT_EQ(last_bytes->body, inline_audio.audio().substr(inline_audio.audio().size() - 3));
  // A few ranges make a multipart reply of those bytes.
  auto two = client.Get(path, {{"Range", "bytes=0-1,4-5"}});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->status, 206);
  EXPECT_TRUE(absl::StartsWith(two->get_header_value("Content-Type"), "multipart/byteranges"));
  EXPECT_LT(two->body.size(), 1000u);
  // Ranges that ask for more than the file, or for more than 16 parts, get the whole file
  // (RFC 9110 lets a server ignore them): cpp-httplib builds one part per range in memory, and
  // 500 whole-file ranges made a 397 MB reply that the gateway held.
  std::string overlapping = "bytes=0-";
  for (int i = 1; i < 500; ++i)
    overlapping += ",0-";
  std::string many_parts = "bytes=0-0";
  for (int i = 1; i <= 16; ++i)
    absl::StrAppend(&many_parts, ",", 2 * i, "-", 2 * i);
  for (const std::string& range : {overlapping, many_parts}) {
    auto whole = client.Get(path, {{"Range", range}});
    ASSERT_TRUE(whole);
    EXPECT_EQ(whole->status, 200) << range.substr(0, 40);
    // Not EXPECT_EQ: a failure would print hundreds of megabytes.
    EXPECT_TRUE(whole->body == inline_audio.audio())
        << range.substr(0, 40) << ": " << whole->body.size() << " bytes";
  }
  auto ogg = client.Get(path + "?format=ogg");
  ASSERT_TRUE(ogg);
  EXPECT_EQ(ogg->status, 200);
  EXPECT_EQ(ogg->body.substr(0, 4), "OggS");
  EXPECT_EQ(ogg->get_header_value("Content-Type"), "audio/ogg");

  // Errors are JSON, with the status their code maps to.
  auto mp3 = client.Get(path + "?format=mp3");
  ASSERT_TRUE(mp3);
  EXPECT_EQ(mp3->status, 400);
  EXPECT_EQ(Error(mp3->body).second, "format must be wav, flac or ogg, got \"mp3\"");
  auto stranger = client.Get(path + "?userId=00000000-0000-4000-8000-000000000000");
  ASSERT_TRUE(stranger);
  EXPECT_EQ(stranger->status, 403);
  EXPECT_EQ(Error(stranger->body).first, "PERMISSION_DENIED");
  auto missing = client.Get("/v1/loops/00000000-0000-4000-8000-000000000000/audio");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(Error(missing->body).first, "NOT_FOUND");
  // An error answers a Range request whole: a range is of the audio, not of the error.
  for (const std::string& failing :
       {std::string("/v1/loops/00000000-0000-4000-8000-000000000000/audio"),
        path + "?format=mp3"}) {
    auto whole = client.Get(failing, {{"Range", "bytes=0-1"}});
    ASSERT_TRUE(whole);
    EXPECT_GE(whole->status, 400) << failing;
    EXPECT_FALSE(whole->has_header("Content-Range")) << failing;
    EXPECT_FALSE(Error(whole->body).second.empty()) << whole->body;
  }
}

// A player that follows audioRef without a format gets the session's, what NextLoop announced.
TEST_F(GatewayTest, LoopAudioWithoutAFormatIsInTheSessionsFormat) {
  auto [status, body] = Post("CreateUser", R"({"displayName": "flac listener"})");
  ASSERT_EQ(status, 200) << body;
  v1::User user;
  ASSERT_TRUE(JsonStringToMessage(body, &user).ok());
  v1::StartSessionRequest start;
  ASSERT_TRUE(JsonStringToMessage(SmallSession(user.user_id(), 12), &start).ok());
  start.mutable_options()->set_audio_format(v1::AUDIO_FORMAT_FLAC);
  std::string start_json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(start, &start_json).ok());
  std::tie(status, body) = Post("StartSession", start_json);
  ASSERT_EQ(status, 200) << body;
  v1::Session session;
  ASSERT_TRUE(JsonStringToMessage(body, &session).ok());
  const v1::NextLoopResponse loop = NextLoopByReference(session.session_id());
  ASSERT_FALSE(loop.loop_id().empty());
  EXPECT_EQ(loop.audio_format(), v1::AUDIO_FORMAT_FLAC);
  httplib::Client client = Client(gateway_->port());
  auto flac = client.Get("/v1/loops/" + loop.audio_ref() + "/audio");
  ASSERT_TRUE(flac);
  EXPECT_EQ(flac->status, 200) << flac->body.substr(0, 300);
  EXPECT_EQ(flac->get_header_value("Content-Type"), "audio/flac");
  EXPECT_EQ(flac->body.substr(0, 4), "fLaC");
  auto wav = client.Get("/v1/loops/" + loop.audio_ref() + "/audio?format=wav");
  ASSERT_TRUE(wav);
  EXPECT_EQ(wav->get_header_value("Content-Type"), "audio/wav");
}

TEST_F(GatewayTest, ServesAnOpenApiDocumentOfItsMethods) {
  auto answer = Client(gateway_->port()).Get("/v1/openapi.json");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->get_header_value("Content-Type"), "application/json");
  google::protobuf::Struct document;
  ASSERT_TRUE(JsonStringToMessage(answer->body, &document).ok()) << answer->body.substr(0, 300);
  const auto& paths = document.fields().at("paths").struct_value().fields();
  for (const char* method : {"CreateUser", "StartSession", "NextLoop", "Rate", "ExportSession"}) {
    EXPECT_TRUE(paths.contains(std::string("/v1/SessionService/") + method)) << method;
  }
  EXPECT_FALSE(paths.contains(
      "/v1/SessionService/StreamLoopAudio"));  // Served as GET /v1/loops/<id>/audio instead.
}

// An internet-facing gateway without the operators' methods, beside the full one.
TEST_F(GatewayTest, ServesOnlyTheMethodsOfItsMethodsFlag) {
  dd::testing::ServiceProcess listening(
      DD_GATEWAY_BIN,
      {"--log_level=warning", "--session=" + stack_->session_address(),
       "--methods=CreateUser,StartSession,NextLoop,Rate,StreamLoopAudio"},
      logs_->path() / "gateway-listening.log");
  ASSERT_NE(listening.port(), 0);
  const auto [created, user] = Post("CreateUser", R"({"displayName": "public"})", listening.port());
  EXPECT_EQ(created, 200) << user;
  const auto [deleted, refusal] = Post("DeleteUser", "{}", listening.port());
  EXPECT_EQ(deleted, 404);
  EXPECT_TRUE(absl::StrContains(refusal, "does not serve DeleteUser")) << refusal;
  auto document = Client(listening.port()).Get("/v1/openapi.json");
  ASSERT_TRUE(document);
  google::protobuf::Struct openapi;
  ASSERT_TRUE(JsonStringToMessage(document->body, &openapi).ok());
  const auto& paths = openapi.fields().at("paths").struct_value().fields();
  EXPECT_EQ(paths.size(), 5u);  // Four methods and the audio GET.
  EXPECT_FALSE(paths.contains("/v1/SessionService/ExportSession"));
  EXPECT_TRUE(paths.contains("/v1/loops/{loopId}/audio"));
}

TEST_F(GatewayTest, RefusesAtOnceWhatWaitedTooLongForAThread) {
  // A backend that never answers: the kernel completes TCP handshakes, nobody reads. Each call
  // to it holds a gateway thread until --call_timeout.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int metrics_port = dd::testing::FreeLoopbackPort();
  dd::testing::ServiceProcess gateway(
      DD_GATEWAY_BIN,
      {"--log_level=warning", "--session=127.0.0.1:" + std::to_string(ntohs(address.sin_port)),
       "--threads=1", "--call_timeout=2s", "--max_queue_wait=500ms",
       "--metrics_port=" + std::to_string(metrics_port)});
  ASSERT_NE(gateway.port(), 0);

  // The first request takes the only thread for 2 s; the second waits for it, far beyond 500 ms.
  std::pair<int, std::string> first;
  std::thread holder([&] { first = Post("GetUser", R"({"userId": "x"})", gateway.port()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  httplib::Client client = Client(gateway.port());
  const absl::Time sent = absl::Now();
  auto second = client.Post("/v1/SessionService/CreateUser", R"({"displayName": "late"})",
                            "application/json");
  const absl::Duration second_took = absl::Now() - sent;
  holder.join();
  // The first was answered by dd-session's absence: the deadline passed (504).
  EXPECT_EQ(first.first, 504) << first.second;
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 503) << second->body;
  auto [code, message] = Error(second->body);
  EXPECT_EQ(code, "UNAVAILABLE");
  EXPECT_TRUE(absl::StartsWith(message, "dd-gateway is overloaded: the request waited "))
      << message;
  EXPECT_EQ(second->get_header_value("Retry-After"), "1");
  // Refused when its turn came, not after another 2 s at the backend.
  EXPECT_LT(second_took, absl::Seconds(3.5));

  // With a free thread the same request reaches the backend (and times out there: 504).
  EXPECT_EQ(Post("GetUser", R"({"userId": "x"})", gateway.port()).first, 504);
  auto scraped = Client(metrics_port).Get("/metrics");
  ASSERT_TRUE(scraped);
  EXPECT_TRUE(absl::StrContains(scraped->body,
                                R"(gateway_http_requests_total{rpc="CreateUser",status="503"} 1)"))
      << scraped->body;
  EXPECT_TRUE(absl::StrContains(scraped->body, "gateway_http_queue_wait_seconds_count 3"))
      << scraped->body;
  close(listener);
}

TEST_F(GatewayTest, KeepsConnectionsAliveOnlyWhileThreadsStayFreeForNewClients) {
  // cpp-httplib holds a thread for each kept-alive connection, idle or not.
  const int metrics_port = dd::testing::FreeLoopbackPort();
  dd::testing::ServiceProcess gateway(
      DD_GATEWAY_BIN, {"--log_level=warning", "--session=" + stack_->session_address(),
                       "--threads=4", "--metrics_port=" + std::to_string(metrics_port)});
  ASSERT_NE(gateway.port(), 0);
  std::vector<std::unique_ptr<httplib::Client>> idle;
  std::vector<std::string> connection_headers;
  for (int i = 0; i < 4; ++i) {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", gateway.port());
    client->set_keep_alive(true);
    auto reply = client->Get("/healthz");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    connection_headers.push_back(reply->get_header_value("Connection"));
    idle.push_back(std::move(client));
  }
  // Three of four threads may wait on idle clients; the fourth reply closes its connection.
  EXPECT_EQ(connection_headers, (std::vector<std::string>{"", "", "", "close"}));
  // So a new client is served while the three idle connections stay open (they would hold
  // their threads for the 5 s keep-alive timeout).
  httplib::Client newcomer("127.0.0.1", gateway.port());
  newcomer.set_read_timeout(std::chrono::seconds(2));
  auto reply = newcomer.Get("/healthz");
  ASSERT_TRUE(reply) << httplib::to_string(reply.error());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->get_header_value("Connection"), "close");
  // Its thread is free once the gateway has closed that connection, which may come a moment
  // after the reply; the metrics say when (the three idle connections hold theirs).
  std::string held;
  for (int attempt = 0; attempt < 200 && held != "3"; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto scraped = Client(metrics_port).Get("/metrics");
    ASSERT_TRUE(scraped);
    const size_t at = scraped->body.find("\ngateway_http_threads_held ");
    ASSERT_NE(at, std::string::npos) << scraped->body;
    held = scraped->body.substr(at + 27, scraped->body.find('\n', at + 1) - at - 27);
  }
  EXPECT_EQ(held, "3");
  // And an idle client's connection still serves its next request.
  reply = idle[0]->Get("/healthz");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->get_header_value("Connection"), "");

  // Once the gateway is shutting down, a kept-alive connection's next request is answered and
  // told to close, so that its client reconnects to another replica.
  // The signal is handled on another thread: wait until the gateway says it is stopping (on
  // its metrics port, whose own threads serve the probes), so that the request below is
  // answered wholly after it, not with a 200 that raced the signal.
  gateway.Signal(SIGTERM);
  bool stopping = false;
  for (int attempt = 0; attempt < 100 && !stopping; ++attempt) {
    auto probe = Client(metrics_port).Get("/healthz");
    stopping = probe && probe->status == 503;
    if (!stopping) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(stopping);
  reply = idle[1]->Get("/healthz");
  ASSERT_TRUE(reply) << httplib::to_string(reply.error());
  EXPECT_EQ(reply->get_header_value("Connection"), "close");
  EXPECT_EQ(reply->status, 503);  // /healthz says STOPPING.
}

TEST_F(GatewayTest, CallsItsBackendOverMutualTlsWithTheTlsFlags) {
  const dd::testing::TestCertificates pki;
  ASSERT_TRUE(pki.ok()) << pki.why();
  // Any of our servers will do as the backend: readiness is its health check. dd-render here,
  // serving mutual TLS only.
  dd::testing::ServiceProcess backend(
      DD_RENDER_BIN, {"--log_level=warning", "--samples=" + dd::testing::DefaultKitDir().string(),
                      "--tls_cert_file=" + pki.server_cert(), "--tls_key_file=" + pki.server_key(),
                      "--tls_client_ca_file=" + pki.ca()});
  ASSERT_NE(backend.port(), 0);
  const auto ready = [](const dd::testing::ServiceProcess& gateway) {
    auto answer = Client(gateway.port()).Get("/readyz");
    return answer ? answer->status : -1;
  };
  dd::testing::ServiceProcess with_tls(
      DD_GATEWAY_BIN,
      {"--log_level=warning", "--session=" + backend.address(), "--tls_ca_file=" + pki.ca(),
       "--tls_cert_file=" + pki.client_cert(), "--tls_key_file=" + pki.client_key()});
  ASSERT_NE(with_tls.port(), 0);
  EXPECT_EQ(ready(with_tls), 200);
  // Without its client certificate the backend refuses it; without TLS it cannot talk at all.
  dd::testing::ServiceProcess without_certificate(
      DD_GATEWAY_BIN,
      {"--log_level=warning", "--session=" + backend.address(), "--tls_ca_file=" + pki.ca()});
  ASSERT_NE(without_certificate.port(), 0);
  EXPECT_EQ(ready(without_certificate), 503);
  dd::testing::ServiceProcess plaintext(DD_GATEWAY_BIN,
                                        {"--log_level=warning", "--session=" + backend.address()});
  ASSERT_NE(plaintext.port(), 0);
  EXPECT_EQ(ready(plaintext), 503);

  // A file that is not there stops a server at start-up, naming the flag.
  dd::testing::ServiceProcess misconfigured(
      DD_RENDER_BIN,
      {"--log_level=error", "--samples=" + dd::testing::DefaultKitDir().string(),
       "--tls_cert_file=" + pki.dir() + "/nope.pem", "--tls_key_file=" + pki.server_key()});
  EXPECT_EQ(misconfigured.port(), 0);
  const int exit_status = misconfigured.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) != 0) << exit_status;
}

// The log lines of `log` (one JSON object each) whose event is `event` and, when `method` is not
// empty, whose "method" field is `method`.
std::vector<google::protobuf::Struct> LogEntries(const std::string& log, const std::string& event,
                                                 const std::string& method = "") {
  std::vector<google::protobuf::Struct> entries;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    google::protobuf::Struct entry;
    if (!JsonStringToMessage(line, &entry).ok()) continue;
    const auto& fields = entry.fields();
    const auto field = [&fields](const std::string& name) {
      const auto found = fields.find(name);
      return found == fields.end() ? std::string() : found->second.string_value();
    };
    if (field("event") == event && (method.empty() || field("method") == method)) {
      entries.push_back(std::move(entry));
    }
  }
  return entries;
}

// The request ids of the calls to `method` that a service's log shows finished.
std::set<std::string> RequestIdsOfCalls(const std::string& log, const std::string& method) {
  std::set<std::string> ids;
  for (const auto& entry : LogEntries(log, "rpc.finished", "/deepdrummer.v1." + method)) {
    ids.insert(entry.fields().at("request_id").string_value());
  }
  return ids;
}

TEST_F(GatewayTest, OneRequestIdFollowsARequestThroughEveryService) {
  const v1::User user = CreateUserWithId("traced", "trace-create");
  ASSERT_FALSE(user.user_id().empty());
  v1::Session session;
  ASSERT_TRUE(
      JsonStringToMessage(
          PostWithId("StartSession", SmallSession(user.user_id(), 9), "trace-start"), &session)
          .ok());
  v1::NextLoopResponse loop;
  const std::string next_body = R"({"sessionId": ")" + session.session_id() + R"("})";
  ASSERT_TRUE(JsonStringToMessage(PostWithId("NextLoop", next_body, "trace-next"), &loop).ok());
  ASSERT_FALSE(loop.audio().empty());

  // Each service logged the calls this request made to it under the client's id.
  const std::string session_log = stack_->Log("session");
  EXPECT_TRUE(RequestIdsOfCalls(session_log, "SessionService/CreateUser").count("trace-create"));
  EXPECT_TRUE(RequestIdsOfCalls(session_log, "SessionService/StartSession").count("trace-start"));
  EXPECT_TRUE(RequestIdsOfCalls(session_log, "SessionService/NextLoop").count("trace-next"));
  bool started_logged = false;  // The business event, at info, with the id too.
  for (const auto& entry : LogEntries(session_log, "session.started")) {
    started_logged |= entry.fields().at("session_id").string_value() == session.session_id() &&
                      entry.fields().at("request_id").string_value() == "trace-start";
  }
  EXPECT_TRUE(started_logged);
  const std::string critic_log = stack_->Log("critic");
  EXPECT_TRUE(RequestIdsOfCalls(critic_log, "CriticService/CreateCritic").count("trace-start"))
      << critic_log.substr(0, 2000);
  // The inline audio is rendered while NextLoop waits.
  EXPECT_TRUE(RequestIdsOfCalls(stack_->Log("render"), "RenderService/Render").count("trace-next"));
  // The first loop is drawn in the background after StartSession, or by NextLoop if it came
  // first; either way under one of the two ids, and the generator's calls to the critic carry it.
  const std::set<std::string> sampled =
      RequestIdsOfCalls(stack_->Log("generator"), "GeneratorService/Sample");
  const std::string drawn_by = sampled.count("trace-start") ? "trace-start" : "trace-next";
  EXPECT_TRUE(sampled.count(drawn_by)) << stack_->Log("generator").substr(0, 2000);
  // Read again after the generator's log: a draw still running in the background when the
  // critic's log was first read has scored since, and its Score calls end before its Sample does.
  EXPECT_TRUE(RequestIdsOfCalls(stack_->Log("critic"), "CriticService/Score").count(drawn_by));
  // And the gateway's own line for the HTTP request, with who sent it: the connection's peer
  // and, behind an ingress, the client that the X-Forwarded-For header names.
  auto forwarded =
      Client(gateway_->port())
          .Post("/v1/SessionService/GetUser",
                {{"X-Request-Id", "trace-forwarded"}, {"X-Forwarded-For", "203.0.113.7, 10.0.0.2"}},
                R"({"userId": "not-a-uuid"})", "application/json");
  ASSERT_TRUE(forwarded);
  std::ifstream gateway_file(logs_->path() / "gateway.log");
  const std::string gateway_log((std::istreambuf_iterator<char>(gateway_file)),
                                std::istreambuf_iterator<char>());
  bool next_logged = false;
  bool forwarded_logged = false;
  for (const auto& entry : LogEntries(gateway_log, "http.request")) {
    const auto& fields = entry.fields();
    const std::string id = fields.at("request_id").string_value();
    if (id == "trace-next") {
      next_logged = true;
      EXPECT_TRUE(absl::StartsWith(fields.at("peer").string_value(), "127.0.0.1:"));
      EXPECT_FALSE(fields.contains("forwarded_for"));
    }
    if (id == "trace-forwarded") {
      forwarded_logged = true;
      EXPECT_EQ(fields.at("forwarded_for").string_value(), "203.0.113.7, 10.0.0.2");
    }
  }
  EXPECT_TRUE(next_logged) << gateway_log.substr(0, 2000);
  EXPECT_TRUE(forwarded_logged) << gateway_log.substr(0, 2000);
}

// A client that lost StartSession's reply retries with the same request_id: it gets the same
// session, and no critic is made for the retry (one used to be made and deleted again).
TEST_F(GatewayTest, AStartSessionRetryGetsTheSessionWithoutMakingACritic) {
  const v1::User user = CreateUserWithId("retrying", "retry-user");
  ASSERT_FALSE(user.user_id().empty());
  std::string start = SmallSession(user.user_id(), 5);
  start.insert(1, R"("requestId": "start-once", )");
  const int64_t critics = stack_->Count("SELECT count(*) FROM critic.critics");
  v1::Session first;
  ASSERT_TRUE(JsonStringToMessage(PostWithId("StartSession", start, "retry-start-1"), &first).ok());
  v1::Session again;
  ASSERT_TRUE(JsonStringToMessage(PostWithId("StartSession", start, "retry-start-2"), &again).ok());
  EXPECT_EQ(again.session_id(), first.session_id());
  EXPECT_EQ(stack_->Count("SELECT count(*) FROM critic.critics"), critics + 1);
  const std::string critic_log = stack_->Log("critic");
  const std::set<std::string> creations =
      RequestIdsOfCalls(critic_log, "CriticService/CreateCritic");
  EXPECT_TRUE(creations.count("retry-start-1")) << critic_log.substr(0, 2000);
  EXPECT_FALSE(creations.count("retry-start-2"));
  EXPECT_FALSE(RequestIdsOfCalls(critic_log, "CriticService/DeleteCritic").count("retry-start-2"));
}

// A user deleted while their next loop is being prepared (the critic training on the rating just
// given) ends that preparation as intended: dd-session says so at info, with no warning that
// would page anyone.
TEST_F(GatewayTest, APreparationCutShortByDeletingTheUserIsNoWarning) {
  const v1::User user = CreateUserWithId("leaving", "leaving-user");
  ASSERT_FALSE(user.user_id().empty());
  std::string start = SmallSession(user.user_id(), 11);
  // Seconds of training after the rating, not milliseconds, so the deletion lands inside it.
  const std::string quick_training = R"("minibatchesPerRating": 1,)";
  start.replace(start.find(quick_training), quick_training.size(),
                R"("minibatchesPerRating": 100,)");
  v1::Session session;
  ASSERT_TRUE(
      JsonStringToMessage(PostWithId("StartSession", start, "leaving-start"), &session).ok());
  // A like, then a dislike: only with both kinds rated does a training round have work to do.
  for (const std::string rating : {"RATING_LIKE", "RATING_DISLIKE"}) {
    const v1::NextLoopResponse loop = NextLoopByReference(session.session_id());
    ASSERT_FALSE(loop.loop_id().empty());
    PostWithId("Rate",
               R"({"loopId": ")" + loop.loop_id() + R"(", "rating": ")" + rating +
                   R"(", "requestId": "leaving-)" + rating + R"("})",
               "leaving-" + rating);
  }
  // A client waiting for the next loop meanwhile is told its session is gone, not which of its
  // parts went first (the critic is deleted before the rows); or it got a loop ready in time.
  std::pair<int, std::string> waited;
  std::thread waiting([&session, &waited] {
    waited = Post("NextLoop", R"({"sessionId": ")" + session.session_id() +
                                  R"(", "audioDelivery": "AUDIO_DELIVERY_REFERENCE"})");
  });
  PostWithId("DeleteUser", R"({"userId": ")" + user.user_id() + R"("})", "leaving-delete");
  waiting.join();
  if (waited.first != 200) {
    EXPECT_EQ(waited.first, 404) << waited.second;
    EXPECT_EQ(Error(waited.second).second, "session " + session.session_id() + " does not exist");
  }

  const auto logged = [&session](const std::string& log, const std::string& event) {
    return absl::StrContains(
        log, R"("event":")" + event + R"(","session_id":")" + session.session_id() + R"(")");
  };
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  std::string log = stack_->Log("session");
  while (!logged(log, "session.prepare_abandoned") && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(100));
    log = stack_->Log("session");
  }
  EXPECT_TRUE(logged(log, "session.prepare_abandoned"))
      << log.substr(log.size() - std::min<size_t>(log.size(), 3000));
  EXPECT_FALSE(logged(log, "session.prepare_failed"));
}

TEST_F(GatewayTest, ARequestWithoutAUsableIdGetsOneToQuote) {
  httplib::Client client = Client(gateway_->port());
  const auto sent_id = [&client](const httplib::Headers& headers) {
    auto result = client.Post("/v1/SessionService/GetUser", headers, R"({"userId": "nope"})",
                              "application/json");
    EXPECT_TRUE(result);
    EXPECT_EQ(result->status, 400);
    return result->get_header_value("X-Request-Id");
  };
  const auto is_new_id = [](const std::string& id) {
    return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
  };
  const std::string given = sent_id({});
  EXPECT_TRUE(is_new_id(given)) << given;
  const std::string replaced = sent_id({{"X-Request-Id", std::string(129, 'x')}});
  EXPECT_TRUE(is_new_id(replaced)) << replaced;
  EXPECT_NE(given, replaced);
  // dd-session logged the refused call (INVALID_ARGUMENT, at info) under the id the client got.
  bool logged = false;
  for (const auto& entry : LogEntries(stack_->Log("session"), "rpc.finished",
                                      "/deepdrummer.v1.SessionService/GetUser")) {
    const auto& fields = entry.fields();
    if (fields.at("request_id").string_value() != given) continue;
    logged = true;
    EXPECT_EQ(fields.at("code").string_value(), "INVALID_ARGUMENT");
    EXPECT_EQ(fields.at("level").string_value(), "info");
  }
  EXPECT_TRUE(logged);
}

// A setting that would fail every call (an empty target, a timeout of 0, a batch limit of 0)
// stops the server at start-up with the flag named, instead of a server that answers each request
// with an error naming no flag. Every check runs before the database or the samples are opened.
TEST(ServerFlagsTest, EveryServerRefusesAFlagValueThatWouldFailEveryCall) {
  struct Case {
    const char* binary;
    std::string flag;
  };
  const std::vector<Case> cases = {
      {DD_RENDER_BIN, "--max_render_seconds=-5"},
      {DD_CRITIC_BIN, "--max_batch=0"},
      {DD_CRITIC_BIN, "--threads=-2"},
      {DD_CRITIC_BIN, "--keep_version_weights=1"},  // Lagged sessions need the one before.
      {DD_GENERATOR_BIN, "--critic="},
      {DD_GENERATOR_BIN, "--critic_timeout=-1s"},
      {DD_GENERATOR_BIN, "--max_count=0"},
      {DD_SESSION_BIN, "--generator="},
      {DD_SESSION_BIN, "--background_threads=0"},
      {DD_SESSION_BIN, "--critic_timeout=0s"},
      {DD_SESSION_BIN, "--max_sampling_steps=0"},
      {DD_GATEWAY_BIN, "--session="},
      {DD_RENDER_BIN, "--shutdown_grace=-1s"},
      {DD_SESSION_BIN, "--max_request_bytes=-1"},
      {DD_CRITIC_BIN, "--max_request_memory_bytes=-1"},
      {DD_GATEWAY_BIN, "--max_message_bytes=0"},
      {DD_GATEWAY_BIN, "--methods=CreateUser,DropTables"},
      {DD_GATEWAY_BIN, "--threads=0"},
      {DD_GATEWAY_BIN, "--max_queue_wait=0s"},
      {DD_GATEWAY_BIN, "--max_body_bytes=10"},
  };
  dd::testing::TempDir logs;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::filesystem::path log = logs.path() / (std::to_string(i) + ".log");
    {
      dd::testing::ServiceProcess server(cases[i].binary, {"--log_level=warning", cases[i].flag},
                                         log);
      EXPECT_EQ(server.port(), 0) << cases[i].binary << " started with " << cases[i].flag;
    }
    const std::string flag_name = cases[i].flag.substr(0, cases[i].flag.find('='));
    const std::string output = dd::testing::ReadFile(log);
    EXPECT_NE(output.find(flag_name + " must"), std::string::npos)
        << cases[i].binary << " " << cases[i].flag << ": " << output;
  }
}

// What `command` prints on stdout and stderr.
std::string OutputOf(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  for (size_t read; (read = fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    output.append(buffer, read);
  pclose(pipe);
  return output;
}

// dd-gateway serves HTTP: the flags of the gRPC servers are neither listed in its --help nor
// taken. They were both, and did nothing there (--shutdown_grace, --max_threads, ...).
TEST(ServerFlagsTest, OnlyTheGrpcServersListAndTakeTheGrpcServerFlags) {
  const std::vector<std::string> grpc_server_flags = {
      "--max_request_bytes",  "--max_request_memory_bytes", "--max_threads",
      "--max_connection_age", "--shutdown_grace",           "--tls_client_ca_file"};
  const std::string gateway_help = OutputOf(std::string(DD_GATEWAY_BIN) + " --help");
  EXPECT_TRUE(absl::StrContains(gateway_help, "--max_body_bytes")) << gateway_help;
  EXPECT_TRUE(absl::StrContains(gateway_help, "--max_message_bytes")) << gateway_help;
  const std::string render_help = OutputOf(std::string(DD_RENDER_BIN) + " --help");
  for (const std::string& flag : grpc_server_flags) {
    EXPECT_FALSE(absl::StrContains(gateway_help, flag + " (")) << flag;
    EXPECT_TRUE(absl::StrContains(render_help, flag + " (")) << flag;
  }
  const std::string refused = OutputOf(std::string(DD_GATEWAY_BIN) + " --max_threads=8");
  EXPECT_TRUE(absl::StrContains(refused, "Unknown command line flag 'max_threads'")) << refused;
}

}  // namespace
}  // namespace dd
