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
#include "common/critic/critic.h"

namespace dd {

class ScoreBatcher {
 public:
  // Scores the clips of every run, in order, with the model named by `key`; `count` is their
  // total. The runs are the requests' own memory: a batch is never gathered into a copy.
  using BatchFn = std::function<absl::StatusOr<std::vector<float>>(
      const std::string& key, const std::vector<critic::ClipRun>& runs, int64_t count)>;

  // `window`: how long the first request waits for company when the key is idle (zero: run at
  // once). `max_batch_clips`: a batch is closed early once it holds this many clips.
  ScoreBatcher(absl::Duration window, int64_t max_batch_clips, BatchFn run);

  // Blocks until this request's scores are ready; `clips` is read until then, by whichever
  // request's thread runs the batch.
  absl::StatusOr<std::vector<float>> Score(const std::string& key, critic::ClipRun clips);

  // Batches run so far, and clips in them (for tests and metrics).
  int64_t batches_run() const;
  int64_t clips_run() const;

 private:
  struct Request {
    critic::ClipRun clips;
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
