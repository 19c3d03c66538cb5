#include "common/render/helper_team.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace dd {
namespace {

std::unique_ptr<HelperTeam> MakeTeam(int helpers, absl::Duration spin) {
  auto team = HelperTeam::Create({.helpers = helpers, .spin = spin});
  EXPECT_TRUE(team.ok()) << team.status();
  return team.ok() ? *std::move(team) : nullptr;
}

TEST(HelperTeamTest, OptionsOutOfRangeAreRejectedWithTheReason) {
  for (int helpers : {-1, 64}) {
    const absl::Status status = HelperTeam::Create({.helpers = helpers}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << helpers;
    EXPECT_NE(status.message().find("helpers must be in [0, 63]"), std::string::npos) << status;
  }
  for (absl::Duration spin : {absl::Microseconds(-1), absl::Milliseconds(11)}) {
    const absl::Status status = HelperTeam::Create({.spin = spin}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << spin;
    EXPECT_NE(status.message().find("spin must be in"), std::string::npos) << status;
  }
  EXPECT_TRUE(HelperTeam::Create({.helpers = 0, .spin = absl::ZeroDuration()}).ok());
}

TEST(HelperTeamTest, WithoutHelpersTheWorkRunsOnceOnTheCaller) {
  auto team = MakeTeam(0, absl::Microseconds(200));
  ASSERT_NE(team, nullptr);
  std::vector<std::pair<std::thread::id, int>> runs;
  team->Run([&](int participant) { runs.emplace_back(std::this_thread::get_id(), participant); });
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].first, std::this_thread::get_id());
  EXPECT_EQ(runs[0].second, 0);
}

// The caller holds on to the work until both helpers have joined it, so the test does not depend
// on how fast they wake: it fails only if a posted helper never runs the work.
TEST(HelperTeamTest, IdleHelpersJoinTheCallersWork) {
  auto team = MakeTeam(2, absl::Milliseconds(1));
  ASSERT_NE(team, nullptr);
  const std::thread::id caller = std::this_thread::get_id();
  constexpr int kPieces = 1000;
  std::vector<std::atomic<int>> done(kPieces);
  std::atomic<int> next{0};
  std::atomic<int> joined{0};
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::multiset<int> participants;
  bool caller_is_participant_0 = false;
  team->Run([&](int participant) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      threads.insert(std::this_thread::get_id());
      participants.insert(participant);
      if (participant == 0) caller_is_participant_0 = std::this_thread::get_id() == caller;
    }
    joined.fetch_add(1);
    if (participant == 0) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (joined.load() < 3 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::yield();
    }
    for (int piece = next.fetch_add(1); piece < kPieces; piece = next.fetch_add(1))
      done[piece].fetch_add(1);
  });
  EXPECT_EQ(threads.size(), 3u) << "every idle helper runs the work beside the caller";
  EXPECT_EQ(participants, (std::multiset<int>{0, 1, 2}));
  EXPECT_TRUE(caller_is_participant_0);
  for (int piece = 0; piece < kPieces; ++piece)
    ASSERT_EQ(done[piece].load(), 1) << "piece " << piece;
}

// Several callers at once, helpers that sleep at once (spin 0: every Run posts to a sleeping
// helper, and most withdraw their work before it wakes) or poll: every Run returns with all of
// its pieces done exactly once, so no helper is still working on a Run that has returned.
TEST(HelperTeamTest, EveryRunReturnsWithEachPieceDoneOnceUnderConcurrentCallers) {
  for (absl::Duration spin : {absl::ZeroDuration(), absl::Microseconds(200)}) {
    auto team = MakeTeam(1, spin);
    ASSERT_NE(team, nullptr);
    constexpr int kCallers = 3;
    constexpr int kRuns = 1500;
    constexpr int kPieces = 48;
    std::atomic<int> failures{0};
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c) {
      callers.emplace_back([&] {
        std::vector<std::atomic<int>> done(kPieces);
        for (int run = 0; run < kRuns; ++run) {
          for (auto& d : done)
            d.store(0, std::memory_order_relaxed);
          std::atomic<int> next{0};
          team->Run([&](int) {
            for (int piece = next.fetch_add(1); piece < kPieces; piece = next.fetch_add(1)) {
              // A little work per piece, so that a helper is often mid-piece when the caller
              // runs out of pieces and must be waited for.
              volatile int sink = 0;
              for (int i = 0; i < 200; ++i)
                sink = sink + i;
              done[piece].fetch_add(1, std::memory_order_relaxed);
            }
          });
          for (auto& d : done) {
            if (d.load(std::memory_order_relaxed) != 1) failures.fetch_add(1);
          }
        }
      });
    }
    for (std::thread& t : callers)
      t.join();
    EXPECT_EQ(failures.load(), 0) << "spin " << spin;
  }
}

// Every index once, on participants the team has, and of several failures the lowest index's, with
// or without a team; with a team, the other indexes still run.
TEST(ForEachIndexTest, RunsEachIndexOnceAndReportsTheLowestFailure) {
  auto team = HelperTeam::Create({.helpers = 2});
  ASSERT_TRUE(team.ok());
  for (HelperTeam* maybe_team : {static_cast<HelperTeam*>(nullptr), team->get()}) {
    constexpr int kCount = 300;
    std::vector<std::atomic<int>> runs(kCount);
    std::atomic<int> bad_participant{0};
    const absl::Status all_ok = ForEachIndex(maybe_team, kCount, [&](int i, int participant) {
      runs[static_cast<size_t>(i)].fetch_add(1);
      if (participant < 0 || participant > 2) bad_participant.fetch_add(1);
      return absl::OkStatus();
    });
    EXPECT_TRUE(all_ok.ok());
    for (int i = 0; i < kCount; ++i)
      EXPECT_EQ(runs[static_cast<size_t>(i)].load(), 1) << "index " << i;
    EXPECT_EQ(bad_participant.load(), 0);

    const absl::Status failed = ForEachIndex(maybe_team, kCount, [&](int i, int) {
      if (i == 250) return absl::NotFoundError("250");
      if (i == 40) return absl::InvalidArgumentError("40");
      if (i == 41) return absl::InternalError("41");
      return absl::OkStatus();
    });
    EXPECT_EQ(failed, absl::InvalidArgumentError("40")) << (maybe_team ? "team" : "no team");
  }
  EXPECT_TRUE(ForEachIndex(team->get(), 0, [](int, int) { return absl::InternalError("x"); }).ok());
}

}  // namespace
}  // namespace dd
