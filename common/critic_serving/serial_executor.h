// One long-lived thread that runs tasks handed to it, one at a time, while each caller waits for
// its own. The critic service scores on such a thread because LibTorch's CPU kernels parallelise
// with OpenMP, whose thread team belongs to the thread that starts a parallel region: scoring
// from whichever gRPC handler thread took the call gave every handler its own team, and the idle
// teams' spinning workers took the cores from the one that was working (a Phase I loop over
// gRPC took 440 ms with two threads against 295 ms with one). A single scoring thread keeps one
// warm team.
#pragma once

#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace dd {

class SerialExecutor {
 public:
  SerialExecutor();
  // Finishes the tasks already handed in, then joins the thread.
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  // Runs `task` on the executor's thread and returns when it has finished. Tasks from concurrent
  // callers run in the order they arrived.
  void Run(absl::FunctionRef<void()> task);

  // Tasks run so far (for tests).
  int64_t tasks_run() const;

 private:
  struct Task {
    absl::FunctionRef<void()> run;
    bool done = false;
  };
  void Loop();

  mutable absl::Mutex mutex_;
  std::deque<Task*> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t tasks_run_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread thread_;  // Last: it starts once the members it reads exist.
};

}  // namespace dd
