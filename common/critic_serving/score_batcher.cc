#include "common/critic_serving/score_batcher.h"

#include <utility>

namespace dd {

ScoreBatcher::ScoreBatcher(absl::Duration window, int64_t max_batch_clips, BatchFn run)
    : window_(window), max_batch_clips_(max_batch_clips), run_(std::move(run)) {}

absl::StatusOr<std::vector<float>> ScoreBatcher::Score(const std::string& key,
                                                       std::vector<float> clips, int64_t count) {
  Request mine;
  mine.clips = std::move(clips);
  mine.count = count;
  std::vector<Request*> batch;
  {
    absl::MutexLock lock(&mutex_);
    Pending& pending = pending_[key];
    const bool leader = pending.requests.empty();
    pending.requests.push_back(&mine);
    pending.clips += count;
    if (!leader) {
      // The leader of this key's batch runs it and fills in our result.
      mutex_.Await(absl::Condition(
          +[](Request* request) { return request->done; }, &mine));
      return std::move(mine.result);
    }
    // Leader: wait for company until the window ends or the batch is full.
    auto full = [this, &key]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
      return pending_[key].clips >= max_batch_clips_;
    };
    if (window_ > absl::ZeroDuration()) mutex_.AwaitWithTimeout(absl::Condition(&full), window_);
    Pending taken = std::move(pending_[key]);
    pending_.erase(key);
    batch = std::move(taken.requests);
  }

  std::vector<float> all;
  int64_t total = 0;
  if (batch.size() == 1) {
    all = std::move(mine.clips);
    total = mine.count;
  } else {
    for (Request* request : batch) {
      all.insert(all.end(), request->clips.begin(), request->clips.end());
      total += request->count;
    }
  }
  absl::StatusOr<std::vector<float>> scores = run_(key, all, total);

  absl::MutexLock lock(&mutex_);
  ++batches_run_;
  clips_run_ += total;
  int64_t offset = 0;
  for (Request* request : batch) {
    if (scores.ok()) {
      request->result = std::vector<float>(scores->begin() + offset,
                                           scores->begin() + offset + request->count);
    } else {
      request->result = scores.status();
    }
    offset += request->count;
    request->done = true;
  }
  return std::move(mine.result);
}

int64_t ScoreBatcher::batches_run() const {
  absl::MutexLock lock(&mutex_);
  return batches_run_;
}

int64_t ScoreBatcher::clips_run() const {
  absl::MutexLock lock(&mutex_);
  return clips_run_;
}

}  // namespace dd
