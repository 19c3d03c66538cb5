// cpp-httplib's thread pool with the time each connection waited for a thread, so that the
// gateway can refuse requests that waited too long (503 at once) instead of working on them after
// their clients have likely given up. cpp-httplib 0.11 queues connections without limit, so under
// overload (a slow dd-session holding every thread) the wait would otherwise grow without bound.
#pragma once

#include <cstddef>
#include <functional>

#include <httplib.h>

#include "absl/time/time.h"

namespace dd {

class TimedTaskQueue final : public httplib::TaskQueue {
 public:
  explicit TimedTaskQueue(size_t threads) : pool_(threads) {}
  void enqueue(std::function<void()> task) override;
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
};

// In a request handler run by a TimedTaskQueue: how long the request's connection waited for the
// thread. Given once per connection: the later requests of a kept-alive connection did not queue
// again and get zero.
absl::Duration TakeQueueWait();

}  // namespace dd
