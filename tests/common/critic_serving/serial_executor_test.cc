#include "common/critic_serving/serial_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace dd {
namespace {

// The point of the executor is that every task runs on one thread, whoever hands it in.
TEST(SerialExecutorTest, RunsEveryCallersTaskOnItsOwnSingleThread) {
  SerialExecutor executor;
  std::thread::id first_runner;
  executor.Run([&] { first_runner = std::this_thread::get_id(); });
  EXPECT_NE(first_runner, std::this_thread::get_id());

  constexpr int kCallers = 8, kTasksEach = 50;
  std::atomic<int> on_other_threads = 0;
  std::atomic<int> running = 0, overlapped = 0;
  std::vector<std::thread> callers;
  std::vector<int> sums(kCallers, 0);
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < kTasksEach; ++i) {
        executor.Run([&] {
          if (running.fetch_add(1) != 0) overlapped.fetch_add(1);
          if (std::this_thread::get_id() != first_runner) on_other_threads.fetch_add(1);
          sums[c] += i;  // Visible to the caller once Run returns.
          running.fetch_sub(1);
        });
      }
    });
  }
  for (std::thread& caller : callers)
    caller.join();
  EXPECT_EQ(on_other_threads.load(), 0);
  EXPECT_EQ(overlapped.load(), 0);
  for (int sum : sums)
    EXPECT_EQ(sum, kTasksEach * (kTasksEach - 1) / 2);
  EXPECT_EQ(executor.tasks_run(), 1 + kCallers * kTasksEach);
}

// Destruction joins the thread, idle or not (a hang would time the test out).
TEST(SerialExecutorTest, DestroyingAnExecutorJoinsItsThreadIdleOrNot) {
  int ran = 0;
  for (int i = 0; i < 20; ++i) {
    SerialExecutor executor;
    if (i % 2 == 0) executor.Run([&] { ++ran; });
    EXPECT_EQ(executor.tasks_run(), i % 2 == 0 ? 1 : 0);
  }
  EXPECT_EQ(ran, 10);
}

}  // namespace
}  // namespace dd
