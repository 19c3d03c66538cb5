#include "services/shared/client_channel.h"

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "services/shared/grpc_server.h"

namespace dd {
namespace {

// Two real servers that each answer SERVING for a health name of their own ("a" or "b") and
// NOT_FOUND for the other's, so a client can tell which of them took a call.
class ClientChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string name : {"a", "b"}) {
      GrpcServerOptions options;
      options.health_service_names = {name};
      auto server = GrpcServer::Start(options, {});
      ASSERT_TRUE(server.ok()) << server.status();
      servers_.push_back(std::move(*server));
    }
  }

  // Which server answered a health check of "a": "a" if SERVING, "b" if NOT_FOUND.
  static std::string Answerer(grpc::health::v1::Health::Stub& health) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    context.set_wait_for_ready(true);  // The first call may find connections still starting.
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("a");
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = health.Check(&context, request, &response);
    if (status.ok()) return "a";
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return "b";
    return "error: " + status.error_message();
  }

  std::vector<std::unique_ptr<GrpcServer>> servers_;
};

TEST_F(ClientChannelTest, SpreadsCallsOverEveryAddressOfTheTarget) {
  const std::string target = "ipv4:127.0.0.1:" + std::to_string(servers_[0]->port()) +
                             ",127.0.0.1:" + std::to_string(servers_[1]->port());
  auto health = grpc::health::v1::Health::NewStub(ClientChannel(target));
  int answered_by_a = 0;
  int answered_by_b = 0;
  for (int call = 0; call < 40; ++call) {
    const std::string answerer = Answerer(*health);
    ASSERT_TRUE(answerer == "a" || answerer == "b") << answerer;
    (answerer == "a" ? answered_by_a : answered_by_b) += 1;
  }
  // pick_first, gRPC's default, would send all 40 to one server.
  EXPECT_GT(answered_by_a, 5);
  EXPECT_GT(answered_by_b, 5);
}

TEST_F(ClientChannelTest, OneAddressTakesEveryCall) {
  auto health = grpc::health::v1::Health::NewStub(ClientChannel(servers_[1]->address()));
  for (int call = 0; call < 5; ++call)
    EXPECT_EQ(Answerer(*health), "b");
}

}  // namespace
}  // namespace dd
