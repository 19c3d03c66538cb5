// The call log and request ids on a real server on loopback: the caller's id reaches the handler
// and comes back in the response's trailing metadata, a call without a usable id gets a new one,
// and each call ends in one rpc.finished line at the level its status code calls for.
#include "services/shared/call_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "deepdrummer/v1/render.grpc.pb.h"
#include "services/shared/grpc_server.h"
#include "services/shared/request_id.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {
namespace v1 = deepdrummer::v1;

// Answers ListSamples with the request id its handler sees (in next_page_token), and with
// INTERNAL when asked for page "fail".
class RequestIdEcho final : public v1::RenderService::Service {
 public:
  grpc::Status ListSamples(grpc::ServerContext* context, const v1::ListSamplesRequest* request,
                           v1::ListSamplesResponse* response) override {
    if (request->page_token() == "fail") {
      return grpc::Status(grpc::StatusCode::INTERNAL, "asked to fail");
    }
    response->set_next_page_token(RequestIdOf(*context));
    return grpc::Status::OK;
  }
};

class CallLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = GrpcServer::Start({}, {&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::RenderService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  struct Reply {
    grpc::Status status;
    std::string handler_saw;  // The id RequestIdOf gave the handler.
    std::string echoed;       // The x-request-id of the response's trailing metadata.
  };
  Reply Call(const std::string& sent_id, const std::string& page = "") {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!sent_id.empty()) context.AddMetadata(kRequestIdMetadataKey, sent_id);
    v1::ListSamplesRequest request;
    request.set_page_token(page);
    v1::ListSamplesResponse response;
    Reply reply;
    reply.status = stub_->ListSamples(&context, request, &response);
    reply.handler_saw = response.next_page_token();
    const auto& metadata = context.GetServerTrailingMetadata();
    if (const auto found = metadata.find(kRequestIdMetadataKey); found != metadata.end()) {
      reply.echoed.assign(found->second.data(), found->second.size());
    }
    return reply;
  }

  RequestIdEcho service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<v1::RenderService::Stub> stub_;
};

bool IsNewRequestId(const std::string& id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST_F(CallLogTest, TheCallersIdReachesTheHandlerAndComesBack) {
  const Reply reply = Call("checkout-7f3a");
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(reply.handler_saw, "checkout-7f3a");
  EXPECT_EQ(reply.echoed, "checkout-7f3a");
  // A failed call too: the id to quote matters most then.
  EXPECT_EQ(Call("checkout-7f3b", "fail").echoed, "checkout-7f3b");
}

TEST_F(CallLogTest, ACallWithoutAnIdGetsANewOneThatTheHandlerSeesToo) {
  const Reply first = Call("");
  const Reply second = Call("");
  ASSERT_TRUE(first.status.ok() && second.status.ok());
  EXPECT_TRUE(IsNewRequestId(first.echoed)) << first.echoed;
  EXPECT_EQ(first.handler_saw, first.echoed);
  EXPECT_NE(first.echoed, second.echoed);
}

TEST_F(CallLogTest, AnIdTooLongToLogIsReplaced) {
  const Reply reply = Call(std::string(kMaxRequestIdBytes + 1, 'x'));
  ASSERT_TRUE(reply.status.ok());
  EXPECT_TRUE(IsNewRequestId(reply.echoed)) << reply.echoed;
  EXPECT_EQ(reply.handler_saw, reply.echoed);
  EXPECT_EQ(Call(std::string(kMaxRequestIdBytes, 'x')).echoed,
            std::string(kMaxRequestIdBytes, 'x'));
}

TEST_F(CallLogTest, EveryCallEndsInOneLineAtTheLevelItsCodeCallsFor) {
  log::SetMinLevel(log::Level::kDebug);
  testing::CapturedStderr captured;
  ASSERT_TRUE(Call("ok-call").status.ok());
  EXPECT_EQ(Call("failing-call", "fail").status.error_code(), grpc::StatusCode::INTERNAL);
  const std::string log = captured.Finish();
  log::SetMinLevel(log::Level::kInfo);

  int finished = 0;
  bool ok_line = false, failed_line = false;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (!absl::StrContains(line, R"("event":"rpc.finished")")) continue;
    ++finished;
    EXPECT_TRUE(absl::StrContains(line, R"("method":"/deepdrummer.v1.RenderService/ListSamples")"))
        << line;
    EXPECT_TRUE(absl::StrContains(line, R"("peer":"ipv)")) << line;
    if (absl::StrContains(line, R"("request_id":"ok-call")")) {
      ok_line = true;
      EXPECT_TRUE(absl::StrContains(line, R"("level":"debug")")) << line;
      EXPECT_TRUE(absl::StrContains(line, R"("code":"OK")")) << line;
    }
    if (absl::StrContains(line, R"("request_id":"failing-call")")) {
      failed_line = true;
      EXPECT_TRUE(absl::StrContains(line, R"("level":"error")")) << line;
      EXPECT_TRUE(absl::StrContains(line, R"("code":"INTERNAL")")) << line;
      EXPECT_TRUE(absl::StrContains(line, R"("error":"asked to fail")")) << line;
    }
  }
  EXPECT_EQ(finished, 2) << log;
  EXPECT_TRUE(ok_line && failed_line) << log;

  // At the default level, a call that succeeds writes nothing.
  testing::CapturedStderr quiet;
  ASSERT_TRUE(Call("quiet-call").status.ok());
  EXPECT_FALSE(absl::StrContains(quiet.Finish(), "quiet-call"));
}

TEST_F(CallLogTest, LinesOfFailedCallsAreThrottledAndSayHowManyWereDropped) {
  testing::CapturedStderr captured;
  for (int i = 0; i < 30; ++i)
    EXPECT_EQ(Call("burst-" + std::to_string(i), "fail").status.error_code(),
              grpc::StatusCode::INTERNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(Call("after-burst", "fail").status.error_code(), grpc::StatusCode::INTERNAL);
  const std::string log = captured.Finish();
  int burst_lines = 0;
  std::string after;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (absl::StrContains(line, R"("request_id":"burst-)")) ++burst_lines;
    if (absl::StrContains(line, R"("request_id":"after-burst")")) after = line;
  }
  // The default: 20 lines a second per method and code. All 30 calls may not fall in one
  // window on a slow machine, so at least the limit and fewer than all.
  EXPECT_GE(burst_lines, 20) << log;
  EXPECT_LT(burst_lines, 30) << log;
  EXPECT_TRUE(absl::StrContains(after, absl::StrCat(R"("suppressed":)", 30 - burst_lines)))
      << after;
}

TEST(CallLogThrottleTest, AdmitsTheLimitPerKeyAndSecondAndCountsTheRest) {
  CallLogThrottle throttle(3);
  const absl::Time start = absl::FromUnixSeconds(1000);
  int64_t suppressed = -1;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(throttle.Admit("Render INTERNAL", start + absl::Milliseconds(i), suppressed));
    EXPECT_EQ(suppressed, 0);
  }
  EXPECT_FALSE(throttle.Admit("Render INTERNAL", start + absl::Milliseconds(10), suppressed));
  EXPECT_FALSE(throttle.Admit("Render INTERNAL", start + absl::Milliseconds(999), suppressed));
  // Another key has its own budget.
  EXPECT_TRUE(throttle.Admit("Score UNAVAILABLE", start + absl::Milliseconds(20), suppressed));
  EXPECT_EQ(suppressed, 0);
  // The next window admits again and reports what the last one dropped, once.
  EXPECT_TRUE(throttle.Admit("Render INTERNAL", start + absl::Seconds(1), suppressed));
  EXPECT_EQ(suppressed, 2);
  EXPECT_TRUE(throttle.Admit("Render INTERNAL", start + absl::Seconds(1.1), suppressed));
  EXPECT_EQ(suppressed, 0);
}

TEST(CallLogLevelTest, FollowsWhoHasToAct) {
  EXPECT_EQ(CallLogLevel(grpc::StatusCode::OK), log::Level::kDebug);
  for (grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
        grpc::StatusCode::ALREADY_EXISTS, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::OUT_OF_RANGE,
        grpc::StatusCode::CANCELLED, grpc::StatusCode::UNIMPLEMENTED,
        grpc::StatusCode::UNAUTHENTICATED}) {
    EXPECT_EQ(CallLogLevel(code), log::Level::kInfo) << code;
  }
  for (grpc::StatusCode code : {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DEADLINE_EXCEEDED,
                                grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::ABORTED}) {
    EXPECT_EQ(CallLogLevel(code), log::Level::kWarning) << code;
  }
  for (grpc::StatusCode code :
       {grpc::StatusCode::INTERNAL, grpc::StatusCode::UNKNOWN, grpc::StatusCode::DATA_LOSS}) {
    EXPECT_EQ(CallLogLevel(code), log::Level::kError) << code;
  }
}

TEST(RequestIdTest, UsableIdsArePrintableAsciiOfBoundedLength) {
  EXPECT_TRUE(IsUsableRequestId("a"));
  EXPECT_TRUE(IsUsableRequestId("web 1: checkout/7f3a"));
  EXPECT_FALSE(IsUsableRequestId(""));
  EXPECT_FALSE(IsUsableRequestId("line\nbreak"));
  EXPECT_FALSE(IsUsableRequestId("caf\xc3\xa9"));
  EXPECT_FALSE(IsUsableRequestId(std::string(kMaxRequestIdBytes + 1, 'x')));
  EXPECT_TRUE(IsNewRequestId(NewRequestId()));
  EXPECT_NE(NewRequestId(), NewRequestId());
}

}  // namespace
}  // namespace dd
