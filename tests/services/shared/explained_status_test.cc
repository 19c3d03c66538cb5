// The statuses gRPC's server answers by itself, on a real server on loopback: a request whose
// bytes do not parse is INVALID_ARGUMENT naming the message expected (and counted so in the
// metrics), and a method the server does not serve is UNIMPLEMENTED naming what it serves, or,
// for a method of a service it serves, saying it is not implemented.
#include "services/shared/explained_status.h"

#include <chrono>
#include <string>
#include <thread>

#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/rpc_method.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "deepdrummer/v1/render.grpc.pb.h"
#include "services/shared/grpc_server.h"

namespace dd {
namespace {

namespace v1 = deepdrummer::v1;

// ListSamples answers OK, or INTERNAL when asked for page "fail"; the other methods are left
// to the generated defaults (UNIMPLEMENTED, no message).
class ListSamplesOnly final : public v1::RenderService::Service {
 public:
  grpc::Status ListSamples(grpc::ServerContext*, const v1::ListSamplesRequest* request,
                           v1::ListSamplesResponse*) override {
    if (request->page_token() == "fail") {
      return grpc::Status(grpc::StatusCode::INTERNAL, "asked to fail");
    }
    return grpc::Status::OK;
  }
};

grpc::Status CallWithBytes(grpc::Channel& channel, const std::string& bytes,
                           const char* method = "/deepdrummer.v1.RenderService/ListSamples") {
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return grpc::internal::BlockingUnaryCall(
      &channel, grpc::internal::RpcMethod(method, grpc::internal::RpcMethod::NORMAL_RPC), &context,
      request, &response);
}

TEST(ExplainedStatusTest, ARequestThatDoesNotParseIsAnInvalidArgumentNamingTheMessage) {
  ListSamplesOnly service;
  GrpcServerOptions options;
  options.metrics_port = 0;
  auto server = GrpcServer::Start(options, {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());

  // A string field whose length runs past the end, a varint cut short, a field number of 0, a
  // string that is not UTF-8, and JSON: bytes no ListSamplesRequest parses from. gRPC's own
  // answer was INTERNAL with no message.
  const std::string undecodable[] = {std::string{0x12, 0x05, 'a', 'b'}, std::string("\x08\xff", 2),
                                     std::string("\x00\x01", 2), std::string("\x12\x02\xc3(", 4),
                                     std::string(R"({"pageToken": "x"})")};
  for (const std::string& bytes : undecodable) {
    const grpc::Status status = CallWithBytes(*channel, bytes);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_EQ(
        status.error_message(),
        "the request is not a deepdrummer.v1.ListSamplesRequest: its bytes do not parse as "
        "that protobuf message (cut short or damaged, a string field that is not UTF-8, or not "
        "protobuf at all, such as JSON)");
  }
  // Bytes that parse are served, and a handler's own INTERNAL goes out as it is.
  v1::ListSamplesRequest request;
  request.set_page_token("fine");
  EXPECT_TRUE(CallWithBytes(*channel, request.SerializeAsString()).ok());
  request.set_page_token("fail");
  const grpc::Status failed = CallWithBytes(*channel, request.SerializeAsString());
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(failed.error_message(), "asked to fail");

  httplib::Client client("127.0.0.1", (*server)->metrics_port());
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  const std::string call = R"(grpc_type="unary",grpc_service="deepdrummer.v1.RenderService",)"
                           R"(grpc_method="ListSamples")";
  for (const std::string& line :
       {"grpc_server_handled_total{" + call + R"(,grpc_code="INVALID_ARGUMENT"} 5)",
        "grpc_server_handled_total{" + call + R"(,grpc_code="INTERNAL"} 1)"}) {
    EXPECT_TRUE(absl::StrContains(metrics->body, line)) << line << "\n" << metrics->body;
  }
}

TEST(ExplainedStatusTest, AMethodNotServedNamesTheServicesThatAre) {
  ListSamplesOnly service;
  GrpcServerOptions options;
  options.health_service_names = {"deepdrummer.v1.RenderService"};
  auto server = GrpcServer::Start(options, {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  // A client pointed at the wrong port, and one that made a method up.
  for (const char* method : {"/deepdrummer.v1.CriticService/Score", "/made.Up/Method"}) {
    const grpc::Status status = CallWithBytes(*channel, "", method);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    EXPECT_EQ(status.error_message(),
              absl::StrCat("this server has no method \"", method,
                           "\"; it serves deepdrummer.v1.RenderService, grpc.health.v1.Health, "
                           "grpc.reflection.v1alpha.ServerReflection (server reflection lists "
                           "their methods)"));
  }
  EXPECT_TRUE(CallWithBytes(*channel, "").ok());
  // A method of a service it serves that its handler does not implement (the generated default).
  const grpc::Status render = CallWithBytes(*channel, "", "/deepdrummer.v1.RenderService/Render");
  EXPECT_EQ(render.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(render.error_message(),
            "this server's deepdrummer.v1.RenderService does not implement Render");
}

// A unary call whose client ends its stream without sending the request: gRPC's answer was
// INTERNAL "Couldn't initialize byte buffer reader", a server failure to whoever reads its
// metrics. (A stream cut off on the way is answered the same: grpc_server_test.)
// The status of a ListSamples call that ends its stream without a request, on a server with this
// memory bound.
grpc::Status CallWithoutARequest(int64_t max_request_memory_bytes) {
  ListSamplesOnly service;
  GrpcServerOptions options;
  options.max_request_memory_bytes = max_request_memory_bytes;
  auto server = GrpcServer::Start(options, {&service});
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no server");
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call = stub.PrepareCall(&context, "/deepdrummer.v1.RenderService/ListSamples", &queue);
  const auto step = [&queue](void* tag) {
    void* got = nullptr;
    bool ok = false;
    return queue.Next(&got, &ok) && got == tag && ok;
  };
  int tags[3];
  grpc::Status status(grpc::StatusCode::INTERNAL, "the call did not run");
  call->StartCall(&tags[0]);
  if (step(&tags[0])) {
    call->WritesDone(&tags[1]);
    if (step(&tags[1])) {
      call->Finish(&status, &tags[2]);
      EXPECT_TRUE(step(&tags[2]));
    }
  }
  queue.Shutdown();
  void* ignored_tag = nullptr;
  bool ignored_ok = false;
  while (queue.Next(&ignored_tag, &ignored_ok)) {
  }
  return status;
}

TEST(ExplainedStatusTest, ACallThatSendsNoWholeRequestIsCancelledNotAnInternalError) {
  const grpc::Status bounded = CallWithoutARequest(256 << 20);
  EXPECT_EQ(bounded.error_code(), grpc::StatusCode::CANCELLED) << bounded.error_message();
  EXPECT_EQ(bounded.error_message(),
            "the request's stream ended before a whole message arrived: the client cancelled it "
            "or sent none, or this server reset it because the requests arriving held more than "
            "--max_request_memory_bytes=268435456");
  // Without a memory bound, no reset by the server to name.
  const grpc::Status unbounded = CallWithoutARequest(0);
  EXPECT_EQ(unbounded.error_code(), grpc::StatusCode::CANCELLED) << unbounded.error_message();
  EXPECT_EQ(unbounded.error_message(),
            "the request's stream ended before a whole message arrived: the client cancelled it "
            "or sent none");
}

// ListSamples holds its thread until released.
class HeldListSamples final : public v1::RenderService::Service {
 public:
  grpc::Status ListSamples(grpc::ServerContext*, const v1::ListSamplesRequest*,
                           v1::ListSamplesResponse*) override {
    if (!entered.HasBeenNotified()) entered.Notify();  // One call at a time runs here.
    release.WaitForNotification();
    return grpc::Status::OK;
  }
  absl::Notification entered;
  absl::Notification release;
};

TEST(ExplainedStatusTest, ACallWithNoThreadLeftNamesTheBoundItMet) {
  HeldListSamples service;
  GrpcServerOptions options;
  options.max_threads = 2;  // One polls, one runs a call.
  auto server = GrpcServer::Start(options, {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  std::thread held([&channel] { EXPECT_TRUE(CallWithBytes(*channel, "").ok()); });
  ASSERT_TRUE(service.entered.WaitForNotificationWithTimeout(absl::Seconds(30)));

  const grpc::Status refused = CallWithBytes(*channel, "");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // gRPC's own words were "Server Threadpool Exhausted".
  EXPECT_EQ(refused.error_message(),
            "this server is busy: every thread it runs calls on is taken (--max_threads=2); "
            "retry shortly, or on another replica");
  service.release.Notify();
  held.join();
  // Its thread serves again, once back in the pool (a moment after its reply went out).
  grpc::Status again = CallWithBytes(*channel, "");
  for (int attempt = 0; !again.ok() && attempt < 100; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    again = CallWithBytes(*channel, "");
  }
  EXPECT_TRUE(again.ok()) << again.error_message();
}

}  // namespace
}  // namespace dd
