#include "common/critic_serving/score_batcher.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace dd {

ScoreBatcher::ScoreBatcher(absl::Duration window, int64_t max_batch_clips, BatchFn run)
    : window_(window), max_batch_clips_(max_batch_clips), run_(std::move(run)) {}

absl::StatusOr<std::vector<float>> ScoreBatcher::Score(const std::string& key,
                                                       critic::ClipRun clips) {
  Request mine;
  mine.clips = clips;
  const int64_t count = clips.count;
  std::vector<Request*> batch;
  {
    absl::MutexLock lock(&mutex_);
    KeyState& state = keys_[key];
    const bool leader = state.requests.empty();
    state.requests.push_back(&mine);
    state.clips += count;
    if (!leader) {
      // The leader of this key's next batch runs it and fills in our result.
      mutex_.Await(absl::Condition(
          +[](Request* request) { return request->done; }, &mine));
      return std::move(mine.result);
    }
    auto full = [this, &key]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
      return keys_[key].clips >= max_batch_clips_;
    };
    auto idle_or_full = [this, &key]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
      const KeyState& s = keys_[key];
      return !s.running || s.clips >= max_batch_clips_;
    };
    // Company arrives by itself while the current batch runs; an idle key may wait a window.
    mutex_.Await(absl::Condition(&idle_or_full));
    if (window_ > absl::ZeroDuration() && !full()) {
      mutex_.AwaitWithTimeout(absl::Condition(&full), window_);
    }
    KeyState& taken = keys_[key];
    batch = std::move(taken.requests);
    taken.requests.clear();
    taken.clips = 0;
    taken.running = true;
  }

  std::vector<critic::ClipRun> runs;
  int64_t total = 0;
  for (const Request* request : batch) {
    runs.push_back(request->clips);
    total += request->clips.count;
  }
  absl::StatusOr<std::vector<float>> scores = run_(key, runs, total);
  if (scores.ok() && static_cast<int64_t>(scores->size()) != total) {
    scores = absl::InternalError(
        absl::StrCat("a batch of ", total, " clips came back with ", scores->size(), " scores"));
  }

  absl::MutexLock lock(&mutex_);
  KeyState& state = keys_[key];
  state.running = false;
  if (state.requests.empty()) keys_.erase(key);
  ++batches_run_;
  clips_run_ += total;
  int64_t offset = 0;
  for (Request* request : batch) {
    if (scores.ok()) {
      request->result = std::vector<float>(scores->begin() + offset,
                                           scores->begin() + offset + request->clips.count);
    } else {
      request->result = scores.status();
    }
    offset += request->clips.count;
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
