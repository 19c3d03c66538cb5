// gRPC's core and protobuf write their own log lines to stderr ("E1127 11:18:17.146 ...
// chttp2_server.cc:1045] ...", "[libprotobuf ERROR ...] String field ... contains invalid UTF-8
// data"), which break the servers' one-JSON-object-a-line logs for whatever parses them. This
// sends them through common/log instead, as events grpc.log and protobuf.log, at most 20 lines a
// second from any one place in a library (a "suppressed" count says how many were dropped).
#pragma once

namespace dd {

// Process-wide; call once at start-up, before other threads use gRPC or protobuf.
void RouteLibraryLogsToJson();

}  // namespace dd
