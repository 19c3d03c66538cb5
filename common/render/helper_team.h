// Helper threads that join one render's block loop, so that a single render can use the cores
// that no other request is using. A render lends its work to the helpers that are idle at that
// moment and runs the same work itself; everyone claims pieces from a shared counter, so a helper
// that is busy with another render, or slow to wake up, only means the render does more of its
// pieces itself. The render never waits for a helper to wake, only for a piece a helper has
// already claimed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dd {

class HelperTeam {
 public:
  struct Options {
    // Threads besides the caller's. [0, 63]; 0 makes Run a plain call. A machine's cores less
    // one lets one render use them all when nothing else runs.
    int helpers = 1;
    // How long an idle helper keeps polling for work before it sleeps, so that renders arriving
    // back to back find it awake (waking a sleeping thread costs tens of microseconds, a render
    // takes about a hundred). It yields between polls, so it takes no time from request
    // threads when every core is busy. [0, 10 ms]
    absl::Duration spin = absl::Microseconds(200);
  };

  // INVALID_ARGUMENT for options out of range.
  static absl::StatusOr<std::unique_ptr<HelperTeam>> Create(const Options& options);
  // Stops and joins the helpers; no Run may be in progress.
  ~HelperTeam();
  HelperTeam(const HelperTeam&) = delete;
  HelperTeam& operator=(const HelperTeam&) = delete;

  // Runs `work` on the calling thread (participant 0) and at the same time on each helper that
  // is idle now (participants 1 and up, one number per helper), and
  // returns once every run of it that started has returned. `work` must share out its pieces by
  // claiming them (e.g. from an atomic counter) and return when none are left: a helper may
  // start after the caller has done everything. Safe to call from several threads at once; each
  // helper works for one caller at a time.
  void Run(absl::FunctionRef<void(int participant)> work);

  int helpers() const { return static_cast<int>(helpers_.size()); }

 private:
  // One helper's mailbox, on its own cache lines so that helpers do not slow each other down.
  struct alignas(64) Helper {
    std::atomic<bool> taken{false};  // Owned by one caller's Run.
    std::atomic<uint32_t> state{0};  // kIdle, kPosted, kRunning or kStopping (helper_team.cc).
    const absl::FunctionRef<void(int)>* work = nullptr;
    int participant = 0;  // Set while posted or running.
    std::thread thread;
  };

  explicit HelperTeam(const Options& options);
  void HelperLoop(Helper& helper);

  const Options options_;
  std::vector<std::unique_ptr<Helper>> helpers_;
};

// Runs body(index, participant) once for every index in [0, count), on the calling thread and on
// whichever helpers of `team` are idle (none when `team` is null), each claiming the next index as
// it finishes one; `participant` is in [0, team->helpers()], so a body can keep scratch per
// participant. Every index runs even when some fail; returns OK, or the error of the lowest index
// that failed, which is what running them one by one in order and stopping at the first failure
// would have returned.
absl::Status ForEachIndex(HelperTeam* team, int count,
                          absl::FunctionRef<absl::Status(int index, int participant)> body);

}  // namespace dd
