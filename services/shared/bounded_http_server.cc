#include "services/shared/bounded_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/shared/http_encoding.h"

namespace dd {
namespace {

// What the request being read on a connection has taken so far, and whether it was refused.
struct RequestAccount {
  int64_t head_bytes = 0;
  int64_t body_bytes = 0;
  bool in_head = true;
  int64_t head_lines = 0;
  int64_t line_bytes = 0;  // Of the head line being read, its '\r' not counted.
  bool replied = false;    // Bytes of a reply were written.
  std::chrono::steady_clock::time_point deadline;  // For the whole request to arrive.
  std::optional<HttpRefusal> refusal;
};

// The request the calling thread is serving; see ApplyRefusal.
thread_local RequestAccount* current_request = nullptr;

// Chunked bodies carry a size line and a CRLF per chunk: room for chunks of 64 bytes or more.
int64_t ChunkedBodyAllowance(int64_t max_body_bytes) {
  return max_body_bytes + max_body_bytes / 8 + 4096;
}

bool IsBodyMethod(const std::string& method) {
  // The methods cpp-httplib reads a body for.
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE" ||
         method == "PRI";
}

// Waits until `socket` is ready for `events` or `timeout` passes; false on timeout or error.
bool WaitFor(int socket, short events, std::chrono::microseconds timeout) {
  pollfd descriptor{socket, events, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int ready = ::poll(&descriptor, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

std::chrono::microseconds Timeout(time_t seconds, time_t microseconds) {
  return std::chrono::seconds(seconds) + std::chrono::microseconds(microseconds);
}

void AddressOf(int socket, bool peer, std::string& ip, int& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  const int got = peer ? ::getpeername(socket, reinterpret_cast<sockaddr*>(&address), &length)
                       : ::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length);
  if (got != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    port = ntohs(v4->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    port = ntohs(v6->sin6_port);
  }
  ip = text;
}

// A connection's socket as cpp-httplib reads and writes it, counting each request's head and
// body bytes against the limits. One per connection, so that bytes of a pipelined next request
// read ahead into its buffer are not lost between requests.
class CountingSocketStream final : public httplib::Stream {
 public:
  CountingSocketStream(int socket, const HttpLimits& limits, std::chrono::microseconds read_timeout,
                       std::chrono::microseconds write_timeout)
      : socket_(socket),
        limits_(limits),
        read_timeout_(read_timeout),
        write_timeout_(write_timeout) {}

  void BeginRequest(RequestAccount& account) { account_ = &account; }
  bool HasBuffered() const { return begin_ < end_; }

  bool is_readable() const override {
    return HasBuffered() || WaitFor(socket_, POLLIN, read_timeout_);
  }
  bool is_writable() const override { return WaitFor(socket_, POLLOUT, write_timeout_); }

  ssize_t read(char* destination, size_t size) override {
    if (account_->refusal) return -1;
    if (!HasBuffered() && !Fill()) return -1;
    const size_t taken = std::min(size, end_ - begin_);
    if (!Count(buffer_ + begin_, taken)) return -1;
    std::memcpy(destination, buffer_ + begin_, taken);
    begin_ += taken;
    return static_cast<ssize_t>(taken);
  }

  ssize_t write(const char* source, size_t size) override {
    if (!is_writable()) return -1;
    while (true) {
      const ssize_t sent = ::send(socket_, source, size, MSG_NOSIGNAL);
      if (sent >= 0) {
        if (sent > 0) account_->replied = true;
        return sent;
      }
      if (errno != EINTR) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(socket_, /*peer=*/true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(socket_, /*peer=*/false, ip, port);
  }
  socket_t socket() const override { return socket_; }

 private:
  bool Fill() {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        account_->deadline - std::chrono::steady_clock::now());
    if (!WaitFor(socket_, POLLIN,
                 std::min(read_timeout_, std::max(left, std::chrono::microseconds::zero())))) {
      if (left < read_timeout_) {
        account_->refusal = HttpRefusal{
            408, absl::StrCat("the request took longer than ",
                              absl::FormatDuration(limits_.max_read_time), " to arrive")};
      }
      return false;
    }
    while (true) {
      const ssize_t got = ::recv(socket_, buffer_, sizeof(buffer_), 0);
      if (got > 0) {
        begin_ = 0;
        end_ = static_cast<size_t>(got);
        return true;
      }
      if (got == 0 || errno != EINTR) return false;
    }
  }

  // Counts `size` bytes about to be handed over; false (and the request refused) past a limit.
  bool Count(const char* bytes, size_t size) {
    RequestAccount& account = *account_;
    size_t index = 0;
    for (; index < size && account.in_head; ++index) {
      if (++account.head_bytes > limits_.max_head_bytes) {
        account.refusal =
            HttpRefusal{431, absl::StrCat("the request line and headers are longer than ",
                                          limits_.max_head_bytes, " bytes")};
        return false;
      }
      if (bytes[index] == '\n') {
        // An empty line after the request line ends the head.
        if (account.line_bytes == 0 && account.head_lines > 0) account.in_head = false;
        ++account.head_lines;
        account.line_bytes = 0;
      } else if (bytes[index] != '\r') {
        ++account.line_bytes;
      }
    }
    account.body_bytes += static_cast<int64_t>(size - index);
    if (account.body_bytes > ChunkedBodyAllowance(limits_.max_body_bytes)) {
      account.refusal = HttpRefusal{
          413, absl::StrCat("the request body is larger than ", limits_.max_body_bytes, " bytes")};
      return false;
    }
    return true;
  }

  const int socket_;
  const HttpLimits& limits_;
  const std::chrono::microseconds read_timeout_;
  const std::chrono::microseconds write_timeout_;
  RequestAccount* account_ = nullptr;
  char buffer_[4096];
  size_t begin_ = 0;
  size_t end_ = 0;
};

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    default:
      return "Refused";
  }
}

// The reply for a request refused before cpp-httplib could answer it (a request line past the
// head limit), so that the client learns why instead of seeing the connection drop.
void WriteBareRefusal(httplib::Stream& stream, const HttpRefusal& refusal) {
  const std::string reply = absl::StrCat(
      "HTTP/1.1 ", refusal.status, " ", ReasonPhrase(refusal.status),
      "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ", refusal.message.size() + 1,
      "\r\nConnection: close\r\n\r\n", refusal.message, "\n");
  stream.write(reply.data(), reply.size());
}

// Closes a connection whose client may still be sending a refused body. Closing with unread
// bytes makes the kernel reset the connection, which can destroy the reply before the client
// reads it; so stop writing, then read and drop what comes for a little while first.
void LingeringClose(int socket) {
  ::shutdown(socket, SHUT_WR);
  char sink[4096];
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < until &&
         WaitFor(socket, POLLIN, std::chrono::milliseconds(500))) {
    const ssize_t got = ::recv(socket, sink, sizeof(sink), 0);
    if (got == 0 || (got < 0 && errno != EINTR)) break;
  }
  ::close(socket);
}

}  // namespace

std::optional<HttpRefusal> RefusalForHeaders(const httplib::Request& request,
                                             const HttpLimits& limits) {
  const bool has_length = request.has_header("Content-Length");
  const bool has_coding = request.has_header("Transfer-Encoding");
  const std::string coding = absl::AsciiStrToLower(request.get_header_value("Transfer-Encoding"));
  uint64_t length = 0;
  if (has_length && !absl::SimpleAtoi(request.get_header_value("Content-Length"), &length)) {
    return HttpRefusal{400, absl::StrCat("Content-Length \"",
                                         request.get_header_value("Content-Length").substr(0, 40),
                                         "\" is not a byte count")};
  }
  if (has_coding && coding != "chunked") {
    return HttpRefusal{501, absl::StrCat("Transfer-Encoding \"", coding.substr(0, 40),
                                         "\" is not supported; send chunked or a Content-Length")};
  }
  if (has_coding && has_length) {
    return HttpRefusal{400, "a request sends either a Content-Length or chunks, not both"};
  }
  const bool has_body = has_coding || length > 0;
  if (!IsBodyMethod(request.method)) {
    if (!has_body) return std::nullopt;
    return HttpRefusal{
        400, absl::StrCat("a ", request.method.substr(0, 16), " request carries no body")};
  }
  if (length > static_cast<uint64_t>(limits.max_body_bytes)) {
    return HttpRefusal{
        413, absl::StrCat("the request body is larger than ", limits.max_body_bytes, " bytes")};
  }
  const std::string encoding = absl::AsciiStrToLower(request.get_header_value("Content-Encoding"));
  if (has_body && !encoding.empty() && encoding != "identity") {
    return HttpRefusal{415, absl::StrCat("request bodies are taken uncompressed, not as \"",
                                         encoding.substr(0, 40), "\"")};
  }
  return std::nullopt;
}

BoundedHttpServer::BoundedHttpServer(HttpLimits limits) : limits_(limits) {
  set_payload_max_length(static_cast<size_t>(limits_.max_body_bytes));
  // A client that asks before sending its body (Expect: 100-continue, as curl does for large
  // ones) is refused before it sends it, instead of being told to go on.
  set_expect_100_continue_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        std::optional<HttpRefusal> refusal = RefusalForHeaders(request, limits_);
        if (!refusal) return 100;
        response.status = refusal->status;
        if (current_request != nullptr) current_request->refusal = std::move(refusal);
        return response.status;
      });
  // The request is the server's own non-const object, and routing has not read its body yet.
  set_pre_routing_handler([this](const httplib::Request& request, httplib::Response& response) {
    auto& headers = const_cast<httplib::Request&>(request).headers;
    auto [first, last] = headers.equal_range("Accept-Encoding");
    for (auto header = first; header != last; ++header)
      header->second = WithoutBrotli(header->second);
    // HTTP gives a request with neither a Content-Length nor chunks no body (RFC 9112, 6.3);
    // cpp-httplib would read one from a POST until the client closes (5 s, then 400).
    if (IsBodyMethod(request.method) && !request.has_header("Content-Length") &&
        !request.has_header("Transfer-Encoding")) {
      headers.emplace("Content-Length", "0");
    }
    std::optional<HttpRefusal> refusal = RefusalForHeaders(request, limits_);
    if (!refusal) return HandlerResponse::Unhandled;
    response.status = refusal->status;
    response.set_header("Connection", "close");
    if (current_request != nullptr) current_request->refusal = std::move(refusal);
    return HandlerResponse::Handled;
  });
  set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (std::optional<HttpRefusal> refusal = ApplyRefusal(response))
      response.set_content(refusal->message + "\n", "text/plain; charset=utf-8");
  });
}

std::optional<HttpRefusal> BoundedHttpServer::ApplyRefusal(httplib::Response& response) {
  if (current_request == nullptr || !current_request->refusal) return std::nullopt;
  response.status = current_request->refusal->status;
  response.set_header("Connection", "close");
  return current_request->refusal;
}

bool BoundedHttpServer::process_and_close_socket(socket_t sock) {
  CountingSocketStream stream(sock, limits_, Timeout(read_timeout_sec_, read_timeout_usec_),
                              Timeout(write_timeout_sec_, write_timeout_usec_));
  bool served = false;
  bool refused = false;
  for (size_t left = keep_alive_max_count_; left > 0; --left) {
    // The next request's first bytes, for up to the keep-alive timeout. As in cpp-httplib, a
    // stopping server still answers a request that comes while its connection waits (told to
    // close), rather than closing under a client that may be sending one.
    if (svr_sock_ == INVALID_SOCKET) break;
    if (!stream.HasBuffered() &&
        !WaitFor(sock, POLLIN, std::chrono::seconds(keep_alive_timeout_sec_))) {
      break;
    }

    RequestAccount account;
    account.deadline =
        std::chrono::steady_clock::now() + absl::ToChronoMicroseconds(limits_.max_read_time);
    stream.BeginRequest(account);
    current_request = &account;
    bool connection_closed = false;
    const bool last = left == 1 || svr_sock_ == INVALID_SOCKET;
    served = process_request(stream, /*close_connection=*/last, connection_closed, nullptr);
    current_request = nullptr;
    if (account.refusal) {
      if (!account.replied) WriteBareRefusal(stream, *account.refusal);
      refused = true;
      break;
    }
    if (!served || connection_closed) break;
  }
  if (refused) {
    LingeringClose(sock);
  } else {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  }
  return served;
}

}  // namespace dd
