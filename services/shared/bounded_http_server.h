// An httplib::Server that bounds what one request can make it hold in memory, for the HTTP
// servers (dd-gateway's API, every server's metrics endpoint).
//
// cpp-httplib 0.11 (Debian 12's) reads a request line and headers of any length, and a request
// body whole before its route runs; its payload limit checks only a Content-Length, so a chunked
// body, one sent with no length (read until the client closes) and a compressed one (inflated as
// read) have none. Measured on a metrics port, which has no route that takes a body: a 1.5 GB
// POST held 1.5 GB, 1.2 GB of headers 2.2 GB; on dd-gateway (--max_body_bytes 1 MiB), an 815 KB
// gzip body inflated to 800 MB.
//
// This server reads each connection through a stream that counts what it hands cpp-httplib, and
// looks at a request's headers before any byte of its body is read. It refuses:
// - a request line and headers longer than max_head_bytes: 431;
// - a Content-Length above max_body_bytes: 413, the body left unread;
// - a chunked body whose chunks pass max_body_bytes as they are read (framing allowed for): 413;
// - a body with a Content-Encoding other than identity: 415 (inflating it has no bound);
// - a request still arriving max_read_time after its first byte: 408. cpp-httplib's read
//   timeout (5 s) is between two reads, so a client sending a byte every few seconds held a
//   thread for as long as it liked.
// A POST, PUT, PATCH or DELETE with neither a Content-Length nor chunks has an empty body, as HTTP
// says (cpp-httplib waited for one until the client closed). A client that asks first (Expect:
// 100-continue) gets the refusal instead of the invitation to send its body. A refused request's
// connection is closed after the reply. Replies' Accept-Encoding handling stays http_encoding.h's
// (gzip, never Brotli). It sets the pre-routing handler: set no other. Its error handler writes a
// refusal's message as text; one set instead must call ApplyRefusal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <httplib.h>

#include "absl/time/time.h"

namespace dd {

struct HttpLimits {
  // Request line and headers together; real clients send a few hundred bytes.
  int64_t max_head_bytes = 64 << 10;
  // A request's body: declared (Content-Length) or received (chunks, once decoded). 0 refuses
  // every body.
  int64_t max_body_bytes = 1 << 20;
  // From a request's first byte to the last of its body.
  absl::Duration max_read_time = absl::Seconds(30);
};

// Why a request was refused: the HTTP status and a message for whoever sent it.
struct HttpRefusal {
  int status = 0;
  std::string message;
};

class BoundedHttpServer : public httplib::Server {
 public:
  explicit BoundedHttpServer(HttpLimits limits);

  // For an error handler, which runs for every refusal: when the request being answered on the
  // calling thread broke a limit, gives `response` the refusal's status (cpp-httplib answers a
  // body cut short as 400) and Connection: close, and returns the refusal for the handler to
  // write in its server's own form. cpp-httplib serves a connection on one thread and calls every
  // handler on it, and a Request carries no link to its connection, hence per thread.
  static std::optional<HttpRefusal> ApplyRefusal(httplib::Response& response);

  const HttpLimits& limits() const { return limits_; }

 private:
  // cpp-httplib's keep-alive loop, over a counting stream instead of its own.
  bool process_and_close_socket(socket_t sock) override;

  const HttpLimits limits_;
};

// The refusal for a request's line and headers, before any byte of its body is read; nullopt
// when it may go on. Also refused (400): a Content-Length that is not a byte count, one sent
// with chunks (a way to smuggle a second request past a proxy), and a body on a method that
// cpp-httplib does not read one for (GET, HEAD, OPTIONS), whose bytes it would take for the next
// request; a Transfer-Encoding other than chunked is 501.
std::optional<HttpRefusal> RefusalForHeaders(const httplib::Request& request,
                                             const HttpLimits& limits);

}  // namespace dd
