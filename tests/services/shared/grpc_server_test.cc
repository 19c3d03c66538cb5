#include "services/shared/grpc_server.h"

#include <chrono>
#include <memory>
#include <regex>
#include <thread>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/rpc_method.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/build_info/build_info.h"
#include "deepdrummer/v1/render.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/shared/listen_socket.h"

namespace dd {
namespace {

TEST(GrpcServerTest, RejectsAConnectionAgeUnderAMillisecond) {
  GrpcServerOptions options;
  options.max_connection_age = absl::ZeroDuration();
  auto server = GrpcServer::Start(options, {});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.status().message(), "max connection age must be at least 1ms, got 0");
}

TEST(GrpcServerTest, RejectsAThreadBoundThatCouldServeNothing) {
  for (int max_threads : {-1, 1}) {
    GrpcServerOptions options;
    options.max_threads = max_threads;
    auto server = GrpcServer::Start(options, {});
    ASSERT_FALSE(server.ok()) << max_threads;
    EXPECT_EQ(server.status().message(),
              absl::StrCat("max_threads must be 0 (no bound) or at least 2, got ", max_threads));
  }
}

TEST(GrpcServerTest, RejectsANegativeRequestMemoryBound) {
  GrpcServerOptions options;
  options.max_request_memory_bytes = -1;
  auto server = GrpcServer::Start(options, {});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().message(),
            "max_request_memory_bytes must be 0 (no bound) or positive, got -1");
}

// Whether a client's connection to a server with this max age is closed within `watch`: the
// client (gRPC's default pick_first, which stays idle once its connection goes) makes one call
// and then watches its channel's state.
bool ConnectionClosedWithin(absl::Duration max_connection_age, absl::Duration watch) {
  GrpcServerOptions options;
  options.max_connection_age = max_connection_age;
  auto server = GrpcServer::Start(options, {});
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return false;
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_TRUE(health->Check(&context, request, &response).ok());
  EXPECT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);
  const absl::Time until = absl::Now() + watch;
  while (absl::Now() < until) {
    if (channel->GetState(false) != GRPC_CHANNEL_READY) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(GrpcServerTest, ClosesConnectionsOlderThanTheMaxAge) {
  EXPECT_TRUE(ConnectionClosedWithin(absl::Milliseconds(200), absl::Seconds(10)));
}

TEST(GrpcServerTest, KeepsConnectionsWithoutAMaxAge) {
  EXPECT_FALSE(ConnectionClosedWithin(absl::InfiniteDuration(), absl::Milliseconds(800)));
}

std::string Scrape(int port, const std::string& path, int* status) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  auto reply = client.Get(path.c_str());
  *status = reply ? reply->status : -1;
  return reply ? reply->body : "";
}

// What a ListSamples call whose request is `request_bytes` long gets from a server that takes
// requests up to 1 MiB and holds at most `memory_bound` bytes of them, whether the server then
// still answers a health check, and its metrics. (The generated RenderService: gRPC reads and
// parses the request before it runs the handler, UNIMPLEMENTED here.)
grpc::Status OversizedCall(int64_t memory_bound, size_t request_bytes, bool* serves_on,
                           std::string* metrics) {
  deepdrummer::v1::RenderService::Service unimplemented;
  GrpcServerOptions options;
  options.max_receive_message_bytes = 1 << 20;
  options.max_request_memory_bytes = memory_bound;
  options.metrics_port = 0;
  auto server = GrpcServer::Start(options, {&unimplemented});
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no server");
  grpc::ChannelArguments arguments;
  arguments.SetMaxSendMessageSize(-1);
  auto channel = grpc::CreateCustomChannel((*server)->address(), grpc::InsecureChannelCredentials(),
                                           arguments);
  const auto context = [] {
    auto made = std::make_unique<grpc::ClientContext>();
    made->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return made;
  };
  deepdrummer::v1::ListSamplesRequest request;
  request.set_page_token(std::string(request_bytes, 'x'));
  deepdrummer::v1::ListSamplesResponse response;
  const grpc::Status oversized = deepdrummer::v1::RenderService::NewStub(channel)->ListSamples(
      context().get(), request, &response);
  grpc::health::v1::HealthCheckRequest check;
  grpc::health::v1::HealthCheckResponse answer;
  *serves_on =
      grpc::health::v1::Health::NewStub(channel)->Check(context().get(), check, &answer).ok();
  int status = 0;
  *metrics = Scrape((*server)->metrics_port(), "/metrics", &status);
  return oversized;
}

// gRPC reads a request whole before it compares it with the size limit (grpc/grpc#43012), so
// the limit alone let a client make a server hold any amount; the memory bound resets the
// stream on the way instead.
TEST(GrpcServerTest, ARequestPastTheMemoryBoundIsResetBeforeItIsReadWhole) {
  constexpr size_t kRequestBytes = 200 << 20;
  bool serves_on = false;
  std::string metrics;
  const grpc::Status unbounded = OversizedCall(0, kRequestBytes, &serves_on, &metrics);
  EXPECT_EQ(unbounded.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(unbounded.error_message(), "larger than max"))
      << unbounded.error_message();
  EXPECT_TRUE(serves_on);

  serves_on = false;
  const grpc::Status bounded = OversizedCall(16 << 20, kRequestBytes, &serves_on, &metrics);
  EXPECT_EQ(bounded.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(bounded.error_message(), "RST_STREAM")) << bounded.error_message();
  EXPECT_TRUE(serves_on);
  // The server counts the call it cut off as CANCELLED (explained_status.h), not as an INTERNAL
  // failure of its own.
  EXPECT_TRUE(absl::StrContains(metrics, R"(grpc_method="ListSamples",grpc_code="CANCELLED"} 1)"))
      << metrics;
  EXPECT_FALSE(absl::StrContains(metrics, R"(grpc_code="INTERNAL")")) << metrics;
}

// gRPC inflates a compressed request whole before it checks the size limit, outside its memory
// quota: 1 MB of gzip made dd-session hold 1.1 GB. The servers take requests uncompressed only.
TEST(GrpcServerTest, ACompressedRequestIsRefusedBeforeItIsInflated) {
  deepdrummer::v1::RenderService::Service unimplemented;
  auto server = GrpcServer::Start(GrpcServerOptions(), {&unimplemented});
  ASSERT_TRUE(server.ok()) << server.status();
  grpc::ChannelArguments arguments;
  arguments.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
  auto stub = deepdrummer::v1::RenderService::NewStub(grpc::CreateCustomChannel(
      (*server)->address(), grpc::InsecureChannelCredentials(), arguments));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  deepdrummer::v1::ListSamplesRequest bomb;
  bomb.set_page_token(std::string(100 << 20, 'x'));  // 100 KB of gzip.
  deepdrummer::v1::ListSamplesResponse response;
  const grpc::Status refused = stub->ListSamples(&context, bomb, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNIMPLEMENTED) << refused.error_message();
  EXPECT_EQ(refused.error_message(), "Compression algorithm 'gzip' is disabled.");
  // Uncompressed, the same server reads and refuses it by size.
  grpc::ChannelArguments plain;
  plain.SetMaxSendMessageSize(-1);
  grpc::ClientContext again;
  again.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  const grpc::Status sized =
      deepdrummer::v1::RenderService::NewStub(
          grpc::CreateCustomChannel((*server)->address(), grpc::InsecureChannelCredentials(),
                                    plain))
          ->ListSamples(&again, bomb, &response);
  EXPECT_EQ(sized.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << sized.error_message();
}

TEST(GrpcServerTest, ServesMetricsOfEveryCallByStatusCode) {
  GrpcServerOptions options;
  options.metrics_port = 0;
  options.health_service_names = {"deepdrummer.v1.Test"};
  auto server = GrpcServer::Start(options, {});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->metrics_port();
  ASSERT_GT(port, 0);
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto check = [&](const std::string& service) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    return health->Check(&context, request, &response).error_code();
  };
  ASSERT_EQ(check(""), grpc::StatusCode::OK);
  ASSERT_EQ(check("deepdrummer.v1.Test"), grpc::StatusCode::OK);
  ASSERT_EQ(check("no.such.Service"), grpc::StatusCode::NOT_FOUND);

  // A method no service defines: answered UNIMPLEMENTED and counted under one name, whatever
  // names clients make up.
  for (const char* made_up : {"/made.Up/One", "/made.Up/Two"}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status unknown = grpc::internal::BlockingUnaryCall(
        channel.get(), grpc::internal::RpcMethod(made_up, grpc::internal::RpcMethod::NORMAL_RPC),
        &context, request, &response);
    EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }

  int status = 0;
  const std::string body = Scrape(port, "/metrics", &status);
  EXPECT_EQ(status, 200);
  const std::string call =
      R"(grpc_type="unary",grpc_service="grpc.health.v1.Health",grpc_method="Check")";
  for (const std::string& line : {
           "grpc_server_started_total{" + call + "} 3\n",
           "grpc_server_handled_total{" + call + R"(,grpc_code="OK"} 2)" + "\n",
           "grpc_server_handled_total{" + call + R"(,grpc_code="NOT_FOUND"} 1)" + "\n",
           "grpc_server_handling_seconds_count{" + call + "} 3\n",
           "grpc_server_handling_seconds_bucket{" + call + R"(,le="+Inf"} 3)" + "\n",
           std::string(R"(dd_grpc_server_in_flight{grpc_service="grpc.health.v1.Health",)") +
               R"(grpc_method="Check"} 0)" + "\n",
           std::string(R"(grpc_server_handled_total{grpc_type="bidi_stream",)") +
               R"(grpc_service="unknown",grpc_method="unknown",grpc_code="UNIMPLEMENTED"} 2)" +
               "\n",
       }) {
    EXPECT_TRUE(absl::StrContains(body, line)) << "missing " << line << " in\n" << body;
  }
  EXPECT_FALSE(absl::StrContains(body, "made.Up")) << body;
  // Which build this is, with the commit the build found.
  const std::string build = std::string(R"(dd_build_info{version=")") +
                            std::string(BuildVersion()) + R"(",commit=")" +
                            std::string(BuildCommit()) + R"("} 1)" + "\n";
  EXPECT_TRUE(absl::StrContains(body, build)) << build << body;
  EXPECT_TRUE(
      std::regex_match(std::string(BuildCommit()), std::regex("[0-9a-f]{12}(-dirty)?|unknown")))
      << BuildCommit();
  Scrape(port, "/other", &status);
  EXPECT_EQ(status, 404);
  // A scraper that also accepts Brotli gets gzip (http_encoding.h).
  httplib::Client client("127.0.0.1", port);
  auto compressed = client.Get("/metrics", {{"Accept-Encoding", "br, gzip"}});
  ASSERT_TRUE(compressed);
  EXPECT_EQ(compressed->get_header_value("Content-Encoding"), "gzip");
  EXPECT_TRUE(absl::StrContains(compressed->body, build));
  // A body, which no route here takes, is refused before it is read (bounded_http_server.h):
  // cpp-httplib alone held a 1.5 GB POST in memory to answer it 404.
  auto posted = client.Post("/metrics", std::string(1000, 'x'), "text/plain");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 413);
  EXPECT_EQ(posted->body, "the request body is larger than 0 bytes\n");
  EXPECT_TRUE(client.Get("/metrics")) << "the endpoint serves on";

  (*server)->Shutdown(absl::ZeroDuration());
  Scrape(port, "/metrics", &status);
  EXPECT_EQ(status, -1) << "the endpoint stops with the server";
}

TEST(GrpcServerTest, APortInUseIsAnErrorNotASharedPort) {
  auto first = GrpcServer::Start({}, {});
  ASSERT_TRUE(first.ok()) << first.status();
  GrpcServerOptions options;
  options.port = (*first)->port();
  // With gRPC's default SO_REUSEPORT the second server started and took a share of the first's
  // connections.
  auto second = GrpcServer::Start(options, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status(), CannotListen("listen", "127.0.0.1", options.port));
  EXPECT_EQ(second.status().message(),
            absl::StrCat("cannot listen on 127.0.0.1:", options.port,
                         " (another process listens on the port, or the address is not this "
                         "machine's)"));
  // The same for the metrics endpoint's HTTP port (cpp-httplib sets SO_REUSEPORT too).
  GrpcServerOptions with_metrics;
  with_metrics.metrics_port = 0;
  auto measured = GrpcServer::Start(with_metrics, {});
  ASSERT_TRUE(measured.ok()) << measured.status();
  with_metrics.metrics_port = (*measured)->metrics_port();
  auto clash = GrpcServer::Start(with_metrics, {});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status(),
            CannotListen("listen for metrics", "127.0.0.1", with_metrics.metrics_port));
}

TEST(GrpcServerTest, ServesNoMetricsUnlessAskedAndRefusesABadMetricsPort) {
  GrpcServerOptions options;
  auto server = GrpcServer::Start(options, {});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->metrics_port(), -1);
  EXPECT_EQ((*server)->metrics(), nullptr);
  options.metrics_port = 70000;
  EXPECT_EQ(GrpcServer::Start(options, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dd
