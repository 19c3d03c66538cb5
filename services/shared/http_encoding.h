// Reply compression for the HTTP servers (dd-gateway's API, every server's metrics endpoint).
// Debian's cpp-httplib is built with Brotli and zlib, and compresses a reply with Brotli whenever
// the request's Accept-Encoding mentions "br" (every browser's does), at Brotli's slowest
// quality: a NextLoop with its audio inline (1 MB of JSON) took 0.62 s to compress, against
// 28-45 ms as gzip and 11-13 ms as it is. A client could make a server burn that per request.
// BoundedHttpServer (bounded_http_server.h) takes "br" out of each request's Accept-Encoding
// before routing, so that replies are gzip where a client accepts it, never Brotli.
#pragma once

#include <string>

namespace dd {

// `accept_encoding` without its "br" codings (with or without a q-value, and any made-up coding
// that holds "br", which cpp-httplib would take for Brotli too), the others as sent.
std::string WithoutBrotli(const std::string& accept_encoding);

}  // namespace dd
