// Dynamic batching, as model servers do it: concurrent Score calls for the same key (a critic
// version) are run as one batch, which is what keeps a GPU critic busy when many generator chains
// ask for a few clips each. Batching is continuous: a call that finds the key idle runs at once
// (after an optional window), while calls that arrive during a running batch queue up and go
// together as the next batch. So a lone caller pays no waiting and a busy key batches by itself.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dd {

class ScoreBatcher {
 public:
  // Scores `count` clips laid out back to back in `clips` with the model named by `key`.
  using BatchFn = std::function<absl::StatusOr<std::vector<float>>(
      const std::string& key, const std::vector<float>& clips, int64_t count)>;

  // `window`: how long the first request waits for company when the key is idle (zero: run at
  // once). `max_batch_clips`: a batch is closed early once it holds this many clips.
  ScoreBatcher(absl::Duration window, int64_t max_batch_clips, BatchFn run);

  // Blocks until this request's scores are ready. `clips` holds count * clip_frames samples.
  absl::StatusOr<std::vector<float>> Score(const std::string& key, std::vector<float> clips,
                                           int64_t count);

  // Batches run so far, and clips in them (for tests and metrics).
  int64_t batches_run() const;
  int64_t clips_run() const;

 private:
  struct Request {
    std::vector<float> clips;
    int64_t count = 0;
    bool done = false;
    absl::StatusOr<std::vector<float>> result;
  };
  struct KeyState {
    std::vector<Request*> requests;  // Queued for the next batch; the first is its leader.
    int64_t clips = 0;
    bool running = false;  // A batch of this key is being scored.
  };

  const absl::Duration window_;
  const int64_t max_batch_clips_;
  const BatchFn run_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, KeyState> keys_ ABSL_GUARDED_BY(mutex_);
  int64_t batches_run_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t clips_run_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace dd
