#include "common/admission/admission_gate.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/match.h"

namespace dd {
namespace {

std::unique_ptr<AdmissionGate> MustGate(int max_concurrent, absl::Duration max_wait) {
  auto gate = AdmissionGate::Create(
      {.name = "dd-test", .max_concurrent = max_concurrent, .max_wait = max_wait});
  EXPECT_TRUE(gate.ok()) << gate.status();
  return gate.ok() ? *std::move(gate) : nullptr;
}

TEST(AdmissionGateTest, RefusesNegativeLimitsAndWaits) {
  EXPECT_EQ(AdmissionGate::Create({.name = "dd-test", .max_concurrent = -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      AdmissionGate::Create({.name = "dd-test", .max_wait = -absl::Seconds(1)}).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(AdmissionGateTest, ZeroMeansNoLimit) {
  auto gate = MustGate(0, absl::ZeroDuration());
  std::vector<AdmissionGate::Ticket> tickets;
  for (int i = 0; i < 1000; ++i) {
    auto ticket = gate->Enter(absl::InfiniteFuture());
    ASSERT_TRUE(ticket.ok()) << i;
    tickets.push_back(*std::move(ticket));
  }
  EXPECT_EQ(gate->in_flight(), 1000);
  tickets.clear();
  EXPECT_EQ(gate->in_flight(), 0);
}

TEST(AdmissionGateTest, ACallBeyondTheLimitIsRefusedWithTheLimitNamed) {
  auto gate = MustGate(2, absl::ZeroDuration());
  auto first = gate->Enter(absl::InfiniteFuture());
  auto second = gate->Enter(absl::InfiniteFuture());
  ASSERT_TRUE(first.ok() && second.ok());
  auto third = gate->Enter(absl::InfiniteFuture());
  ASSERT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(
      absl::StrContains(third.status().message(), "dd-test is at its limit of 2 calls at once"))
      << third.status();
  EXPECT_EQ(gate->in_flight(), 2);
  // A ticket moved elsewhere gives its slot back once, when its last holder ends.
  {
    AdmissionGate::Ticket moved = *std::move(first);
    EXPECT_EQ(gate->in_flight(), 2);
  }
  EXPECT_EQ(gate->in_flight(), 1);
  EXPECT_TRUE(gate->Enter(absl::InfiniteFuture()).ok());
}

TEST(AdmissionGateTest, AWaitingCallGetsTheSlotARunningOneGivesBack) {
  auto gate = MustGate(1, absl::Hours(1));
  std::optional<absl::StatusOr<AdmissionGate::Ticket>> running(gate->Enter(absl::InfiniteFuture()));
  ASSERT_TRUE(running->ok());
  absl::Status waiter_status = absl::UnknownError("not run");
  std::thread waiter([&] {
    auto ticket = gate->Enter(absl::InfiniteFuture());
    waiter_status = ticket.status();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  running.reset();  // The running call ends.
  waiter.join();
  EXPECT_TRUE(waiter_status.ok()) << waiter_status;
  EXPECT_EQ(gate->in_flight(), 0);
}

TEST(AdmissionGateTest, TheCallersDeadlineCutsTheWaitShort) {
  auto gate = MustGate(1, absl::Hours(1));
  auto running = gate->Enter(absl::InfiniteFuture());
  ASSERT_TRUE(running.ok());
  const absl::Time start = absl::Now();
  auto refused = gate->Enter(start + absl::Milliseconds(100));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  // Not a speed check: without the deadline this would wait the gate's hour.
  EXPECT_LT(absl::Now() - start, absl::Minutes(1));
  EXPECT_EQ(gate->Enter(absl::InfinitePast()).status().code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace dd
