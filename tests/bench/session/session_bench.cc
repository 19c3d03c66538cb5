// dd_session_bench: N simulated raters against the whole stack (dd-render, dd-critic,
// dd-generator, dd-session as real processes, PostgreSQL started here). Each rater loops
// NextLoop -> (think) -> Rate through Phase I; prints p50/p99 of Rate and of NextLoop-after-Rate
// and the ratings per second held.
//
//   build/tests/bench/session/dd_session_bench [--raters=1,4,16] [--ratings=6] [--think_ms=0]
//                                              [--minibatches=40] [--critic_lag=0]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/bench_flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tests/services/session/session_stack.h"

namespace {

constexpr char kUsage[] =
    "[--raters=1,4,16] [--ratings=6] [--think_ms=0] [--minibatches=40] [--critic_lag=0]";

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  return dd::bench::Flag(argc, argv, name, fallback, kUsage);
}
namespace v1 = deepdrummer::v1;
using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1,
                         static_cast<size_t>(p * static_cast<double>(values.size())))];
}

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  return context;
}

}  // namespace

int main(int argc, char** argv) {
  const int ratings = std::stoi(Flag(argc, argv, "ratings", "6"));
  const int think_ms = std::stoi(Flag(argc, argv, "think_ms", "0"));
  const int minibatches = std::stoi(Flag(argc, argv, "minibatches", "40"));
  const int critic_lag = std::stoi(Flag(argc, argv, "critic_lag", "0"));
  std::vector<int> rater_counts;
  for (absl::string_view part : absl::StrSplit(Flag(argc, argv, "raters", "1,4,16"), ',')) {
    int n = 0;
    if (absl::SimpleAtoi(part, &n) && n > 0) rater_counts.push_back(n);
  }
  dd::testing::SessionStackOptions options;
  options.critic_threads = 0;  // One per core: the bench has the machine to itself.
  dd::testing::SessionStack stack("session_bench", options);
  if (!stack.up()) {
    std::fprintf(stderr, "services did not start\n");
    return 1;
  }
  std::printf(
      "ratings per rater %d, think time %d ms, critic %d minibatches per rating, critic lag %d\n",
      ratings, think_ms, minibatches, critic_lag);
  std::printf("| raters | Rate p50 | Rate p99 | NextLoop p50 | NextLoop p99 | ratings/s |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (int raters : rater_counts) {
    std::mutex mutex;
    std::vector<double> rate_ms, next_ms;
    std::atomic<int> errors{0};
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int r = 0; r < raters; ++r) {
      threads.emplace_back([&, r] {
        v1::User user;
        v1::CreateUserRequest create;
        if (!stack.session().CreateUser(Context().get(), create, &user).ok()) return (void)++errors;
        v1::StartSessionRequest start_request;
        start_request.set_user_id(user.user_id());
        start_request.mutable_options()->set_phase1_loops(static_cast<uint32_t>(ratings + 1));
        start_request.mutable_options()->set_phase1_critic_lag(static_cast<uint32_t>(critic_lag));
        start_request.mutable_options()->mutable_critic()->set_minibatches_per_rating(
            static_cast<uint32_t>(minibatches));
        v1::Session session;
        if (!stack.session().StartSession(Context().get(), start_request, &session).ok()) {
          return (void)++errors;
        }
        for (int i = 0; i < ratings; ++i) {
          v1::NextLoopRequest next;
          next.set_session_id(session.session_id());
          v1::NextLoopResponse loop;
          const auto t0 = Clock::now();
          if (!stack.session().NextLoop(Context().get(), next, &loop).ok()) return (void)++errors;
          const auto t1 = Clock::now();
          std::this_thread::sleep_for(std::chrono::milliseconds(think_ms));
          v1::RateRequest rate;
          rate.set_loop_id(loop.loop_id());
          rate.set_rating(loop.loop().tracks(0).hits(0) ? v1::RATING_LIKE : v1::RATING_DISLIKE);
          rate.set_request_id("bench-" + std::to_string(raters) + "-" + std::to_string(r) + "-" +
                              std::to_string(i));
          v1::RateResponse rated;
          const auto t2 = Clock::now();
          if (!stack.session().Rate(Context().get(), rate, &rated).ok()) return (void)++errors;
          const auto t3 = Clock::now();
          std::lock_guard<std::mutex> lock(mutex);
          if (i > 0) next_ms.push_back(Ms(t1 - t0));  // The first loop follows StartSession.
          rate_ms.push_back(Ms(t3 - t2));
        }
      });
    }
    for (std::thread& t : threads)
      t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("| %d | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.2f |%s\n", raters,
                Percentile(rate_ms, 0.5), Percentile(rate_ms, 0.99), Percentile(next_ms, 0.5),
                Percentile(next_ms, 0.99), static_cast<double>(rate_ms.size()) / seconds,
                errors ? " (errors!)" : "");
    std::fflush(stdout);
  }
  return 0;
}
