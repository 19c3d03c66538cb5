// Serves critics to a stateless worker: creates them, trains them under the database row lock,
// and scores with any version. Hot critics stay in an LRU cache; a miss reloads from PostgreSQL,
// so any worker can serve any critic and a dead worker loses nothing that was acknowledged.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/critic/critic.h"
#include "common/critic/host_clips.h"
#include "common/critic_serving/score_batcher.h"
#include "common/critic_serving/serial_executor.h"
#include "common/metrics/registry.h"
#include "common/storage/critic_repository.h"

namespace dd {

struct CriticStoreOptions {
  std::string device = "cpu";  // "cpu" or "cuda[:N]".
  // How critics run (critic/critic.h): training precision (the library's default is the paper's
  // float32; dd-critic's --training_precision=auto picks bfloat16 where it is native) and CUDA
  // graphs. The store gives all its critics one SharedScoringMemory of its own.
  critic::RunOptions run;
  int cache_capacity = 64;  // Critic instances (trainable or per scored version) kept in memory.
  // Memory those instances may hold, estimated from what they keep (a trainable critic: its rated
  // clips, 353 KB each, and its weights with Adam's state; a scored version: its weights). A
  // critic of the paper's 80 ratings holds ~32 MB, one of 1,000 ~0.36 GB, so a count alone does
  // not bound the worker's memory. The least recently used go first; one is always kept.
  int64_t cache_bytes = int64_t{2} << 30;
  // Extra wait for company when a critic version is idle; calls arriving while its batch runs
  // batch anyway (score_batcher.h).
  absl::Duration batch_window = absl::ZeroDuration();
  int64_t max_batch_clips = 256;  // A coalesced batch closes at this size.
  // Training rounds (one per new rating) running at once in this worker, across all critics.
  // Each round already uses every LibTorch thread; two at once on the same cores only contend
  // (measured: 16 raters on 2 cores held 0.23 ratings/s with unbounded concurrency).
  int training_slots = 1;
  // Cached critics serve without reading the database. This often a background sweep asks it,
  // in one query, which of them still exist and drops the copies of those deleted through
  // another worker (DeleteCritic drops this worker's own at once), so that none is served for
  // much longer than this after its deletion. The scoring never waits for the sweep, so a slow
  // or unreachable database delays only the sweep. Zero: no sweep.
  absl::Duration deleted_critic_sweep = absl::Seconds(1);
};

struct TrainExample {
  std::string example_id;
  bool liked = false;
  std::vector<float> clip;  // critic::kClipFrames samples.
};

struct TrainResult {
  uint64_t version = 0;
  int added = 0;
  int already_known = 0;
  int liked_count = 0;
  int disliked_count = 0;
  std::optional<double> last_loss;
};

struct ScoreResult {
  uint64_t version = 0;
  std::vector<float> like_probability;
};

class CriticStore {
 public:
  // `metrics` (optional, not owned) is where the store counts its work: critics loaded from the
  // database, scoring batches (clips and seconds) and training rounds (seconds).
  static absl::StatusOr<std::unique_ptr<CriticStore>> Create(storage::CriticRepository& repository,
                                                             const CriticStoreOptions& options,
                                                             metrics::Registry* metrics = nullptr);
  ~CriticStore();

  absl::StatusOr<storage::CriticRecord> CreateCritic(const std::string& owner,
                                                     const critic::CriticConfig& config);
  // Adds the examples not seen before (by example_id) in order, one version each. ABORTED when
  // expected_version is given and is not the latest version.
  absl::StatusOr<TrainResult> Train(const std::string& critic_id,
                                    const std::vector<TrainExample>& examples,
                                    std::optional<uint64_t> expected_version);
  // Memory for `capacity` clips to score, of the kind this worker's device reads fastest
  // (page-locked on a GPU); fill it, then pass its run() to Score.
  critic::HostClips NewClips(int64_t capacity) const;
  // Deletes the critic with its versions and rated examples (returns how many of each) and drops
  // its cached copies, so that no call to this worker is answered from them.
  absl::StatusOr<std::pair<int, int>> DeleteCritic(const std::string& critic_id);
  // Scores the clips, which are read until this returns. `version` unset: the latest.
  absl::StatusOr<ScoreResult> Score(const std::string& critic_id, std::optional<uint64_t> version,
                                    critic::ClipRun clips);

  const ScoreBatcher& batcher() const { return batcher_; }
  const CriticStoreOptions& options() const { return options_; }

 private:
  struct Entry {
    absl::Mutex mutex;
    std::unique_ptr<critic::Critic> critic ABSL_GUARDED_BY(mutex);
    uint64_t version ABSL_GUARDED_BY(mutex) = 0;
    bool dirty ABSL_GUARDED_BY(mutex) = false;  // Trained in a transaction that did not commit.
  };

  struct Metrics {
    metrics::Family<metrics::Counter>* loads = nullptr;  // By purpose: "score" or "train".
    metrics::Histogram* batch_clips = nullptr;
    metrics::Histogram* batch_seconds = nullptr;
    metrics::Histogram* training_round_seconds = nullptr;
    metrics::Gauge* cache_bytes = nullptr;  // The estimate that cache_bytes bounds.
  };
  static absl::StatusOr<Metrics> AddMetrics(metrics::Registry& registry);

  CriticStore(storage::CriticRepository& repository, CriticStoreOptions options,
              std::unique_ptr<metrics::Registry> own_metrics, Metrics metrics);
  std::shared_ptr<Entry> CacheEntry(const std::string& key);
  void Evict(const std::string& key);
  // Records the bytes the entry under `key` now holds (when it is still cached), then evicts the
  // least recently used entries beyond the options' bounds.
  void Account(const std::string& key, int64_t bytes);
  void ShrinkLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(cache_mutex_);
  // Evicts every cached copy of the critic; returns how many there were.
  size_t EvictCritic(const std::string& critic_id);
  // Drops the cached copies of critics that no longer exist (see deleted_critic_sweep).
  void SweepDeletedCritics();
  absl::StatusOr<std::vector<float>> ScoreNow(const std::string& key,
                                              const std::vector<critic::ClipRun>& runs);

  storage::CriticRepository& repository_;
  const CriticStoreOptions options_;
  const std::unique_ptr<metrics::Registry> own_metrics_;  // When the caller gave none.
  const Metrics metrics_;
  SerialExecutor scoring_thread_;  // Every forward pass runs here; see serial_executor.h.
  ScoreBatcher batcher_;
  absl::Mutex training_mutex_;
  int free_training_slots_ ABSL_GUARDED_BY(training_mutex_) = 0;
  absl::Mutex cache_mutex_;
  struct Cached {
    std::shared_ptr<Entry> entry;
    std::list<std::string>::iterator position;  // In lru_.
    int64_t bytes = 0;                          // Estimated; 0 until Account.
  };
  std::list<std::string> lru_ ABSL_GUARDED_BY(cache_mutex_);  // Most recent first.
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(cache_mutex_);
  int64_t cached_bytes_ ABSL_GUARDED_BY(cache_mutex_) = 0;
  absl::Mutex sweep_mutex_;
  bool stopping_ ABSL_GUARDED_BY(sweep_mutex_) = false;
  std::thread sweeper_;  // Last: it runs on everything above.
};

}  // namespace dd
