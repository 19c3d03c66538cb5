// cpp-httplib's thread pool with the time each connection waited for a thread, so that the
// gateway can refuse requests that waited too long (503 at once) instead of working on them after
// their clients have likely given up. cpp-httplib 0.11 queues connections without limit, so under
// overload (a slow dd-session holding every thread) the wait would otherwise grow without bound.
//
// It also counts the connections that hold a thread. cpp-httplib serves a connection on one
// thread from its first request to its close, so a client that keeps its connection alive holds
// a thread while idle (up to the keep-alive timeout, 5 s): sixteen browsers or apps that each
// made one request would keep every new client waiting. The count lets the gateway close
// connections instead of keeping them alive once few threads are free.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>

#include <httplib.h>

#include "absl/time/time.h"
#include "common/metrics/registry.h"

namespace dd {

// The connections holding one of the pool's threads, served or waiting for their next request.
class ThreadOccupancy {
 public:
  // `held_gauge` (optional, outliving this) follows held(), for the metrics.
  explicit ThreadOccupancy(int threads, metrics::Gauge* held_gauge = nullptr)
      : threads_(threads), held_gauge_(held_gauge) {}

  int threads() const { return threads_; }
  int held() const { return held_.load(std::memory_order_relaxed); }
  // Whether a connection that just got its reply may stay open: only while a quarter of the
  // threads (at least one) would stay free for new clients.
  bool MayKeepAlive() const { return held() <= threads_ - std::max(1, threads_ / 4); }

 private:
  friend class TimedTaskQueue;
  void Take() {
    held_.fetch_add(1, std::memory_order_relaxed);
    if (held_gauge_ != nullptr) held_gauge_->Add(1);
  }
  void Release() {
    held_.fetch_sub(1, std::memory_order_relaxed);
    if (held_gauge_ != nullptr) held_gauge_->Add(-1);
  }

  const int threads_;
  metrics::Gauge* const held_gauge_;
  std::atomic<int> held_{0};
};

class TimedTaskQueue final : public httplib::TaskQueue {
 public:
  // `occupancy` must outlive the queue; its thread count is the pool's.
  explicit TimedTaskQueue(ThreadOccupancy& occupancy)
      : occupancy_(occupancy), pool_(static_cast<size_t>(occupancy.threads())) {}
  void enqueue(std::function<void()> task) override;
  void shutdown() override { pool_.shutdown(); }

 private:
  ThreadOccupancy& occupancy_;
  httplib::ThreadPool pool_;
};

// In a request handler run by a TimedTaskQueue: how long the request's connection waited for the
// thread. Given once per connection: the later requests of a kept-alive connection did not queue
// again and get zero.
absl::Duration TakeQueueWait();

}  // namespace dd
