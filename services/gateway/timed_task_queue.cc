#include "services/gateway/timed_task_queue.h"

#include <utility>

#include "absl/time/clock.h"

namespace dd {
namespace {

// When the connection this thread now serves was queued; InfiniteFuture once taken. The task
// and the handlers it runs share the thread, so a thread-local carries it from one to the other.
thread_local absl::Time t_queued_at = absl::InfiniteFuture();

}  // namespace

void TimedTaskQueue::enqueue(std::function<void()> task) {
  pool_.enqueue([this, task = std::move(task), queued_at = absl::Now()] {
    t_queued_at = queued_at;
    occupancy_.Take();
    task();
    occupancy_.Release();
    t_queued_at = absl::InfiniteFuture();
  });
}

absl::Duration TakeQueueWait() {
  const absl::Time queued_at = std::exchange(t_queued_at, absl::InfiniteFuture());
  if (queued_at == absl::InfiniteFuture()) return absl::ZeroDuration();
  return absl::Now() - queued_at;
}

}  // namespace dd
