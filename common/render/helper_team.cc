#include "common/render/helper_team.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace dd {
namespace {

// A helper's state. A caller moves kIdle -> kPosted (work lent) and, if the helper has not taken
// it yet, kPosted -> kIdle (work withdrawn); the helper moves kPosted -> kRunning -> kIdle.
constexpr uint32_t kIdle = 0;
constexpr uint32_t kPosted = 1;
constexpr uint32_t kRunning = 2;
constexpr uint32_t kStopping = 3;

constexpr int kMaxHelpers = 63;
constexpr absl::Duration kMaxSpin = absl::Milliseconds(10);

}  // namespace

absl::StatusOr<std::unique_ptr<HelperTeam>> HelperTeam::Create(const Options& options) {
  if (options.helpers < 0 || options.helpers > kMaxHelpers) {
    return absl::InvalidArgumentError(
        absl::StrCat("helpers must be in [0, ", kMaxHelpers, "], got ", options.helpers));
  }
  if (options.spin < absl::ZeroDuration() || options.spin > kMaxSpin) {
    return absl::InvalidArgumentError(absl::StrCat("spin must be in [0, ",
                                                   absl::FormatDuration(kMaxSpin), "], got ",
                                                   absl::FormatDuration(options.spin)));
  }
  return std::unique_ptr<HelperTeam>(new HelperTeam(options));
}

HelperTeam::HelperTeam(const Options& options) : options_(options) {
  for (int i = 0; i < options.helpers; ++i) {
    helpers_.push_back(std::make_unique<Helper>());
    helpers_.back()->participant = i + 1;
  }
  for (auto& helper : helpers_)
    helper->thread = std::thread([this, h = helper.get()] { HelperLoop(*h); });
}

HelperTeam::~HelperTeam() {
  for (auto& helper : helpers_) {
    helper->state.store(kStopping, std::memory_order_release);
    helper->state.notify_all();
  }
  for (auto& helper : helpers_)
    helper->thread.join();
}

void HelperTeam::Run(absl::FunctionRef<void(int participant)> work) {
  // At most a few dozen helpers; a fixed array keeps Run free of allocation.
  Helper* lent[kMaxHelpers];
  int lent_count = 0;
  for (auto& helper : helpers_) {
    if (helper->taken.exchange(true, std::memory_order_acquire)) continue;  // Another render's.
    helper->work = &work;
    helper->state.store(kPosted, std::memory_order_release);
    helper->state.notify_all();
    lent[lent_count++] = helper.get();
  }
  work(0);
  for (int i = 0; i < lent_count; ++i) {
    Helper& helper = *lent[i];
    uint32_t state = kPosted;
    // Withdrawn before the helper took it: nothing to wait for.
    if (!helper.state.compare_exchange_strong(state, kIdle, std::memory_order_acq_rel)) {
      // It took the work and may hold a piece it claimed: wait for it to hand back.
      while ((state = helper.state.load(std::memory_order_acquire)) == kRunning)
        helper.state.wait(kRunning, std::memory_order_acquire);
    }
    helper.work = nullptr;
    helper.taken.store(false, std::memory_order_release);
  }
}

absl::Status ForEachIndex(HelperTeam* team, int count,
                          absl::FunctionRef<absl::Status(int index, int participant)> body) {
  if (team == nullptr || team->helpers() == 0 || count < 2) {
    for (int i = 0; i < count; ++i) {
      if (absl::Status status = body(i, 0); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  std::atomic<int> next{0};
  std::vector<absl::Status> statuses(static_cast<size_t>(count));
  team->Run([&](int participant) {
    for (int i; (i = next.fetch_add(1, std::memory_order_relaxed)) < count;)
      statuses[static_cast<size_t>(i)] = body(i, participant);
  });
  for (absl::Status& status : statuses) {
    if (!status.ok()) return std::move(status);
  }
  return absl::OkStatus();
}

void HelperTeam::HelperLoop(Helper& helper) {
  const auto spin = absl::ToChronoNanoseconds(options_.spin);
  for (;;) {
    uint32_t state = helper.state.load(std::memory_order_acquire);
    // Poll for a while after each piece of work, then sleep until a caller posts.
    const auto spin_until = std::chrono::steady_clock::now() + spin;
    for (int polls = 1; state == kIdle; ++polls) {
      // Yielding gives the core to any request thread waiting for it, so a polling helper costs
      // nothing when every core is busy; on an idle core it returns at once.
      std::this_thread::yield();
      state = helper.state.load(std::memory_order_acquire);
      if (state == kIdle && polls % 64 == 0 && std::chrono::steady_clock::now() > spin_until) {
        helper.state.wait(kIdle, std::memory_order_acquire);
        state = helper.state.load(std::memory_order_acquire);
      }
    }
    if (state == kStopping) return;
    if (!helper.state.compare_exchange_strong(state, kRunning, std::memory_order_acq_rel)) {
      continue;  // Withdrawn (or stopping) in between.
    }
    (*helper.work)(helper.participant);
    helper.state.store(kIdle, std::memory_order_release);
    helper.state.notify_all();
  }
}

}  // namespace dd
