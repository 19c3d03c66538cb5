// The HTTP server that bounds what a request can make it hold: refusals decided from the
// headers, and a real server on a loopback port fed raw requests, some past its limits.
#include "services/shared/bounded_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dd {
namespace {

// Two seconds for a request to arrive: plenty on loopback, even for a sanitized build.
constexpr HttpLimits kLimits{
    .max_head_bytes = 4096, .max_body_bytes = 64 << 10, .max_read_time = absl::Seconds(2)};

httplib::Request RequestWith(const std::string& method, const httplib::Headers& headers) {
  httplib::Request request;
  request.method = method;
  request.headers = headers;
  return request;
}

int StatusFor(const std::string& method, const httplib::Headers& headers) {
  const std::optional<HttpRefusal> refusal =
      RefusalForHeaders(RequestWith(method, headers), kLimits);
  return refusal ? refusal->status : 0;
}

TEST(RefusalForHeadersTest, LetsThroughWhatABodyRouteCanReadWithinTheLimit) {
  EXPECT_EQ(StatusFor("GET", {}), 0);
  EXPECT_EQ(StatusFor("GET", {{"Content-Length", "0"}}), 0);
  EXPECT_EQ(StatusFor("POST", {{"Content-Length", "0"}}), 0);
  EXPECT_EQ(StatusFor("POST", {{"Content-Length", "65536"}}), 0);
  EXPECT_EQ(StatusFor("POST", {{"Transfer-Encoding", "Chunked"}}), 0);
  EXPECT_EQ(StatusFor("POST", {{"Content-Length", "9"}, {"Content-Encoding", "identity"}}), 0);
}

TEST(RefusalForHeadersTest, RefusesBodiesItCannotBoundOrPlaceWithTheReason) {
  EXPECT_EQ(StatusFor("POST", {{"Content-Length", "65537"}}), 413);
  EXPECT_EQ(StatusFor("POST", {}), 0);  // An empty body (see below).
  EXPECT_EQ(StatusFor("POST", {{"Content-Length", "9"}, {"Content-Encoding", "gzip"}}), 415);
  EXPECT_EQ(StatusFor("POST", {{"Transfer-Encoding", "chunked"}, {"Content-Encoding", "br"}}), 415);
  EXPECT_EQ(StatusFor("POST", {{"Transfer-Encoding", "gzip, chunked"}}), 501);
  EXPECT_EQ(StatusFor("POST", {{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}), 400);
  EXPECT_EQ(StatusFor("POST", {{"Content-Length", "-1"}}), 400);
  EXPECT_EQ(StatusFor("GET", {{"Content-Length", "5"}}), 400);
  EXPECT_EQ(StatusFor("OPTIONS", {{"Transfer-Encoding", "chunked"}}), 400);

  const auto refusal =
      RefusalForHeaders(RequestWith("POST", {{"Content-Length", "70000"}}), kLimits);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->message, "the request body is larger than 65536 bytes");
  const auto compressed = RefusalForHeaders(
      RequestWith("POST", {{"Content-Length", "9"}, {"Content-Encoding", "gzip"}}), kLimits);
  ASSERT_TRUE(compressed.has_value());
  EXPECT_EQ(compressed->message, "request bodies are taken uncompressed, not as \"gzip\"");
}

class BoundedHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Post("/echo", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(absl::StrCat(request.body.size()), "text/plain");
    });
    server_.Get("/hello", [](const httplib::Request&, httplib::Response& response) {
      response.set_content("hello", "text/plain");
    });
    server_.set_error_handler([](const httplib::Request&, httplib::Response& response) {
      if (auto refusal = BoundedHttpServer::ApplyRefusal(response))
        response.set_content("refused: " + refusal->message, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    serving_ = std::thread([this] { server_.listen_after_bind(); });
    for (int waited_ms = 0; !server_.is_running() && waited_ms < 10000; ++waited_ms)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(server_.is_running());
  }
  void TearDown() override {
    server_.stop();
    if (serving_.joinable()) serving_.join();
  }

  int Connect() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{10, 0};  // A reply that never comes fails the test instead of hanging it.
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    return fd;
  }

  // Sends what it can of `bytes` (the server may stop reading), without closing.
  static void SendAll(int fd, const std::string& bytes) {
    for (size_t sent = 0; sent < bytes.size();) {
      const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  // Everything the server sends until it closes the connection (or 10 s pass).
  static std::string ReadToEnd(int fd) {
    std::string answer;
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;)
      answer.append(buffer, static_cast<size_t>(n));
    close(fd);
    return answer;
  }

  // Sends `request` and returns the server's whole answer; the connection stays open on this
  // side until the server closes it, so a server that waits for more never answers.
  std::string Exchange(const std::string& request) const {
    const int fd = Connect();
    SendAll(fd, request);
    return ReadToEnd(fd);
  }

  static std::string Chunked(const std::string& body, size_t chunk) {
    std::string framed;
    for (size_t at = 0; at < body.size(); at += chunk) {
      const std::string piece = body.substr(at, chunk);
      absl::StrAppend(&framed, absl::Hex(piece.size()), "\r\n", piece, "\r\n");
    }
    return framed + "0\r\n\r\n";
  }

  BoundedHttpServer server_{kLimits};
  std::thread serving_;
  int port_ = 0;
};

TEST_F(BoundedHttpServerTest, ServesRequestsWithinTheLimitsKeptAliveAndPipelined) {
  // Two requests in one write: the second's bytes, read ahead with the first's, are not lost.
  const std::string answer = Exchange(
      "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nabcde");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "\r\n\r\nhello")) << answer;
  EXPECT_TRUE(absl::StrContains(answer.substr(1), "HTTP/1.1 200")) << answer;
  EXPECT_TRUE(absl::EndsWith(answer, "\r\n\r\n5")) << answer;

  const std::string body(60000, 'x');
  const std::string chunked = Exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      Chunked(body, 1000));
  EXPECT_EQ(chunked.rfind("HTTP/1.1 200", 0), 0u) << chunked;
  EXPECT_TRUE(absl::EndsWith(chunked, "\r\n\r\n60000")) << chunked;
}

TEST_F(BoundedHttpServerTest, RefusesADeclaredBodyPastTheLimitWithoutWaitingForIt) {
  // Only the head is sent: the reply comes without a byte of the 10 MB announced.
  const int fd = Connect();
  SendAll(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
  const std::string answer = ReadToEnd(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "Connection: close")) << answer;
  EXPECT_TRUE(absl::EndsWith(answer, "refused: the request body is larger than 65536 bytes"))
      << answer;
}

TEST_F(BoundedHttpServerTest, RefusesABodyAskedAboutBeforeInvitingIt) {
  // Expect: 100-continue asks whether to send the body; the answer is the refusal, not 100.
  const std::string answer = Exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n"
      "Expect: 100-continue\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_FALSE(absl::StrContains(answer, "100 Continue")) << answer;
  EXPECT_TRUE(absl::EndsWith(answer, "refused: the request body is larger than 65536 bytes"))
      << answer;
  // Within the limits it is invited, and served.
  const int fd = Connect();
  SendAll(fd,
          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n"
          "Expect: 100-continue\r\n\r\n");
  char buffer[64];
  const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<size_t>(n)).rfind("HTTP/1.1 100 Continue", 0), 0u);
  SendAll(fd, "abc");
  const std::string served = ReadToEnd(fd);
  EXPECT_TRUE(absl::StrContains(served, "HTTP/1.1 200")) << served;
  EXPECT_TRUE(absl::EndsWith(served, "\r\n\r\n3")) << served;
}

TEST_F(BoundedHttpServerTest, StopsReadingChunksPastTheLimit) {
  const int fd = Connect();
  SendAll(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  Chunked(std::string(256 << 10, 'x'), 4096));
  const std::string answer = ReadToEnd(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_TRUE(absl::EndsWith(answer, "refused: the request body is larger than 65536 bytes"))
      << answer;
}

TEST_F(BoundedHttpServerTest, TakesAPostWithNeitherLengthNorChunksAsEmptyAtOnce) {
  // As HTTP says; cpp-httplib alone read a body until the client closed, and this client never
  // does (the reply would have come after 5 s, a 400).
  const int fd = Connect();
  SendAll(fd, "POST /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  // The connection stays open: read until the reply's one-byte body is in (head and body may
  // come in two pieces), or the server gives up or 10 s pass.
  std::string answer;
  char buffer[512];
  for (ssize_t n;
       !absl::EndsWith(answer, "\r\n\r\n0") && (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    answer.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_TRUE(absl::EndsWith(answer, "\r\n\r\n0")) << answer;
}

TEST_F(BoundedHttpServerTest, RefusesCompressedBodies) {
  const std::string answer = Exchange(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd");
  EXPECT_EQ(answer.rfind("HTTP/1.1 415", 0), 0u) << answer;
  EXPECT_TRUE(
      absl::EndsWith(answer, "refused: request bodies are taken uncompressed, not as \"gzip\""))
      << answer;
}

TEST_F(BoundedHttpServerTest, GivesARequestThatKeepsArrivingUpAtItsDeadline) {
  // A byte every 100 ms never meets cpp-httplib's read timeout (5 s between reads): without a
  // deadline for the whole request, this client would hold a thread for 80 minutes.
  const int fd = Connect();
  // A request line of its own so long that the deadline, after some 20 bytes, falls within it
  // (not past it, where cpp-httplib would answer instead, in its own form).
  const std::string head = "GET /hello?padding=" + std::string(2000, 's') + " HTTP/1.1\r\n";
  std::string answer;
  const auto start = std::chrono::steady_clock::now();
  for (size_t at = 0; at < head.size() && answer.empty(); ++at) {
    if (send(fd, head.data() + at, 1, MSG_NOSIGNAL) != 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    char buffer[256];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) answer.assign(buffer, static_cast<size_t>(n));
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(30)) break;
  }
  answer += ReadToEnd(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
  // Still in its request line, which cpp-httplib cannot answer: the server's own reply.
  EXPECT_TRUE(absl::EndsWith(answer, "\r\n\r\nthe request took longer than 2s to arrive\n"))
      << answer;
}

TEST_F(BoundedHttpServerTest, RefusesHeadersPastTheLimitAndServesTheNextClient) {
  std::string headers;
  for (int i = 0; i < 100; ++i)
    absl::StrAppend(&headers, "X-Padding-", i, ": ", std::string(60, 'p'), "\r\n");
  const std::string answer = Exchange("GET /hello HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer;
  EXPECT_TRUE(
      absl::EndsWith(answer, "refused: the request line and headers are longer than 4096 bytes"))
      << answer;

  // A request line that never ends: cpp-httplib cannot answer it, so the server does, briefly.
  const int fd = Connect();
  SendAll(fd, "GET /hello?q=" + std::string(64 << 10, 'q'));
  const std::string line = ReadToEnd(fd);
  EXPECT_EQ(line.rfind("HTTP/1.1 431 Request Header Fields Too Large", 0), 0u) << line;
  EXPECT_TRUE(absl::EndsWith(line, "the request line and headers are longer than 4096 bytes\n"))
      << line;

  const std::string next = Exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(next.rfind("HTTP/1.1 200", 0), 0u) << next;
}

}  // namespace
}  // namespace dd
