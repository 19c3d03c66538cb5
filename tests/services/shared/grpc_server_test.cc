#include "services/shared/grpc_server.h"

#include <chrono>
#include <memory>
#include <thread>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"

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

}  // namespace
}  // namespace dd
