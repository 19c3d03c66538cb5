// Keepalive between the project's channels and servers: a call whose server goes silent (a node
// lost: no FIN, no RST, nothing) fails within seconds as UNAVAILABLE instead of waiting for its
// deadline, and the pings of a healthy long call are accepted (no GOAWAY for pinging too often).
// A proxy on loopback that can stop forwarding stands for the network.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "deepdrummer/v1/render.grpc.pb.h"
#include "services/shared/client_channel.h"
#include "services/shared/grpc_server.h"

namespace dd {
namespace {
namespace v1 = deepdrummer::v1;

// ListSamples answers after `page_size` milliseconds, or when the call is cancelled.
class SlowService final : public v1::RenderService::Service {
 public:
  grpc::Status ListSamples(grpc::ServerContext* context, const v1::ListSamplesRequest* request,
                           v1::ListSamplesResponse*) override {
    const absl::Time until = absl::Now() + absl::Milliseconds(request->page_size());
    while (absl::Now() < until) {
      if (context->IsCancelled()) return grpc::Status::CANCELLED;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return grpc::Status::OK;
  }
};

// Forwards one loopback port to another, byte for byte, until Freeze(): then it forwards nothing
// more and closes nothing, as a vanished peer would.
class FreezableProxy {
 public:
  explicit FreezableProxy(int target_port) : target_port_(target_port) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = Loopback(0);
    bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(listener_, 8);
    socklen_t length = sizeof(address);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~FreezableProxy() {
    stop_ = true;
    thread_.join();
    close(listener_);
  }
  int port() const { return port_; }
  void Freeze() { frozen_ = true; }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    return address;
  }

  void Run() {
    std::vector<std::pair<int, int>> links;  // (from, to), both directions of each connection.
    while (!stop_) {
      std::vector<pollfd> polled = {{listener_, POLLIN, 0}};
      if (!frozen_) {
        for (const auto& [from, to] : links)
          polled.push_back({from, POLLIN, 0});
      }
      if (poll(polled.data(), polled.size(), 20) <= 0) continue;
      if (polled[0].revents & POLLIN) {
        const int client = accept(listener_, nullptr, nullptr);
        const int server = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in target = Loopback(target_port_);
        if (connect(server, reinterpret_cast<sockaddr*>(&target), sizeof(target)) == 0) {
          links.push_back({client, server});
          links.push_back({server, client});
        }
      }
      for (size_t i = 1; i < polled.size(); ++i) {
        if (!(polled[i].revents & (POLLIN | POLLHUP))) continue;
        char buffer[16384];
        const ssize_t got = read(polled[i].fd, buffer, sizeof(buffer));
        if (got > 0) (void)!write(links[i - 1].second, buffer, static_cast<size_t>(got));
      }
    }
    for (const auto& link : links)
      close(link.first);
  }

  const int target_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> frozen_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class KeepaliveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = GrpcServer::Start({}, {&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    proxy_ = std::make_unique<FreezableProxy>(server_->port());
  }

  // A call through the proxy that the server answers after `answer_after`; its status and how
  // long it took. The proxy freezes `freeze_after` into the call (never if infinite).
  std::pair<grpc::StatusCode, absl::Duration> Call(const ClientChannelOptions& options,
                                                   absl::Duration answer_after,
                                                   absl::Duration freeze_after,
                                                   absl::Duration deadline) {
    auto stub = v1::RenderService::NewStub(
        ClientChannel("127.0.0.1:" + std::to_string(proxy_->port()), options));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    v1::ListSamplesRequest request;
    request.set_page_size(static_cast<uint32_t>(absl::ToInt64Milliseconds(answer_after)));
    v1::ListSamplesResponse response;
    std::thread freezer;
    if (freeze_after != absl::InfiniteDuration()) {
      freezer = std::thread([this, freeze_after] {
        std::this_thread::sleep_for(absl::ToChronoMilliseconds(freeze_after));
        proxy_->Freeze();
      });
    }
    const absl::Time start = absl::Now();
    const grpc::Status status = stub->ListSamples(&context, request, &response);
    const absl::Duration took = absl::Now() - start;
    if (freezer.joinable()) freezer.join();
    return {status.error_code(), took};
  }

  static ClientChannelOptions Options(absl::Duration keepalive_time) {
    ClientChannelOptions options;
    options.retry_idempotent_calls = false;  // A retry would wait on the frozen proxy again.
    options.keepalive_time = keepalive_time;
    options.keepalive_timeout = absl::Seconds(1);
    return options;
  }

  SlowService service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<FreezableProxy> proxy_;
};

TEST_F(KeepaliveTest, ACallToASilentServerFailsWithinSecondsNotAtItsDeadline) {
  // The server would answer after 60 s; the network goes silent after half a second.
  const auto [code, took] = Call(Options(absl::Seconds(1)), absl::Seconds(60),
                                 absl::Milliseconds(500), absl::Seconds(20));
  EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(took, absl::Seconds(15)) << "keepalive should end it after ~2 s";
}

TEST_F(KeepaliveTest, WithoutKeepaliveTheSameCallWaitsForItsDeadline) {
  const auto [code, took] = Call(Options(absl::InfiniteDuration()), absl::Seconds(60),
                                 absl::Milliseconds(500), absl::Seconds(5));
  EXPECT_EQ(code, grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_GE(took, absl::Seconds(4));
}

TEST_F(KeepaliveTest, PingsWithinTheServersPolicyKeepALongCallAliveAndFasterOnesAreCutOff) {
  // This fixture's server keeps the default policy (a ping per 10 s at most): a client pinging
  // every second is told to go away.
  const auto [too_often, took] = Call(Options(absl::Seconds(1)), absl::Seconds(8),
                                      absl::InfiniteDuration(), absl::Seconds(20));
  EXPECT_EQ(too_often, grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(took, absl::Seconds(8));
  // A server whose policy allows it serves the same call to the end.
  GrpcServerOptions tolerant;
  tolerant.min_client_ping_interval = absl::Seconds(1);
  auto server = GrpcServer::Start(tolerant, {&service_});
  ASSERT_TRUE(server.ok()) << server.status();
  proxy_ = std::make_unique<FreezableProxy>((*server)->port());
  EXPECT_EQ(
      Call(Options(absl::Seconds(1)), absl::Seconds(4), absl::InfiniteDuration(), absl::Seconds(20))
          .first,
      grpc::StatusCode::OK);
}

TEST(KeepaliveDefaultsTest, ClientsPingNoMoreOftenThanServersAllow) {
  EXPECT_GE(ClientChannelOptions{}.keepalive_time, GrpcServerOptions{}.min_client_ping_interval);
}

}  // namespace
}  // namespace dd
