// gRPC's and protobuf's own log lines, made by the libraries themselves, come out as JSON lines.
#include "services/shared/library_logs.h"

#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "deepdrummer/v1/session.pb.h"
#include "services/shared/grpc_server.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {

TEST(LibraryLogsTest, GrpcAndProtobufLinesAreJson) {
  RouteLibraryLogsToJson();
  auto first = GrpcServer::Start({}, {});
  ASSERT_TRUE(first.ok()) << first.status();
  GrpcServerOptions clash;
  clash.port = (*first)->port();
  testing::CapturedStderr captured;
  // gRPC's core logs the failed bind itself ("E1127 ... chttp2_server.cc] No address added").
  EXPECT_FALSE(GrpcServer::Start(clash, {}).ok());
  // Protobuf logs a string that is not UTF-8 as it refuses to parse it ("[libprotobuf ERROR").
  deepdrummer::v1::CreateUserRequest request;
  EXPECT_FALSE(request.ParseFromString(std::string("\x0a\x02\xc3(", 4)));
  const std::string output = captured.Finish();

  std::istringstream lines(output);
  int grpc_lines = 0, protobuf_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.rfind("{\"ts\":", 0), 0u) << "not a JSON log line: " << line;
    grpc_lines += absl::StrContains(line, R"("event":"grpc.log")");
    protobuf_lines += absl::StrContains(line, R"("event":"protobuf.log")") &&
                      absl::StrContains(line, "invalid UTF-8");
  }
  EXPECT_GE(grpc_lines, 1) << output;
  EXPECT_EQ(protobuf_lines, 1) << output;
}

int CountLines(const std::string& output, const std::string& part) {
  std::istringstream lines(output);
  int count = 0;
  for (std::string line; std::getline(lines, line);)
    count += absl::StrContains(line, part);
  return count;
}

TEST(LibraryLogsTest, LinesFromOnePlaceAreThrottledAndTheDroppedCounted) {
  RouteLibraryLogsToJson();
  const std::string not_utf8("\x0a\x02\xc3(", 4);
  deepdrummer::v1::CreateUserRequest request;
  // A window of its own: the flood's first line opens it, and the flood ends long before it does.
  absl::SleepFor(absl::Milliseconds(1100));
  testing::CapturedStderr flood;
  for (int i = 0; i < 30; ++i)
    EXPECT_FALSE(request.ParseFromString(not_utf8));
  const int written = CountLines(flood.Finish(), R"("event":"protobuf.log")");
  EXPECT_EQ(written, 20);
  absl::SleepFor(absl::Milliseconds(1100));  // The next one-second window.
  testing::CapturedStderr next;
  EXPECT_FALSE(request.ParseFromString(not_utf8));
  EXPECT_EQ(CountLines(next.Finish(), R"("suppressed":)"), 1);
}

}  // namespace
}  // namespace dd
