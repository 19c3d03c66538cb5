#include "common/critic_serving/critic_store.h"

#include <exception>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/text/quoted.h"

namespace dd {
namespace {

// Keys of the cache and the batcher. A UUID may come in either case; one critic is one key, so
// that its training rounds share one lock and its scores one batch.
std::string TrainKey(const std::string& critic_id) {
  return absl::AsciiStrToLower(critic_id) + "#train";
}
// What the keys of every scored version of a critic start with.
std::string ScoreKeyPrefix(const std::string& critic_id) {
  return absl::AsciiStrToLower(critic_id) + "@";
}
std::string ScoreKey(const std::string& critic_id, uint64_t version) {
  return absl::StrCat(ScoreKeyPrefix(critic_id), version);
}

// LibTorch failed while running a critic (critic.h). Out of memory is worth a retry, later or on
// another worker; anything else is a fault of this worker or of the stored state.
absl::Status RunFailed(const std::string& critic, const char* activity,
                       const std::exception& exception) {
  const critic::RuntimeFailure failure = critic::DescribeFailure(exception);
  log::Error("critic.run_failed", {{"critic", critic},
                                   {"activity", activity},
                                   {"out_of_memory", failure.out_of_memory},
                                   {"message", failure.message}});
  const std::string message =
      absl::StrCat("critic ", critic, ": ", activity, " failed: ", failure.message);
  return failure.out_of_memory ? absl::ResourceExhaustedError(message)
                               : absl::InternalError(message);
}

// Every critic of the store scores into one SharedScoringMemory (on one scoring thread anyway).
CriticStoreOptions WithScoringMemory(CriticStoreOptions options) {
  if (!options.run.scoring_memory) options.run.scoring_memory = critic::NewSharedScoringMemory();
  return options;
}

// A critic that used CUDA graphs before some work and does not after fell back for good: said
// once, with the reason, under `id_field` (which critic or version it was).
void LogIfGraphsFailed(bool had_graphs, const critic::Critic& critic, const char* id_field,
                       const std::string& id) {
  if (had_graphs && !critic.uses_cuda_graphs()) {
    log::Warning("critic.cuda_graph_failed",
                 {{id_field, id}, {"problem", critic.cuda_graph_problem()}});
  }
}

// What a critic in the cache holds, in bytes: its rated clips (a trainable critic's), and its
// weights, with Adam's two moments when it can train.
int64_t HeldBytes(const critic::Critic& critic) {
  const int64_t clips = int64_t{critic.liked_count()} + critic.disliked_count();
  const int64_t weight_copies = critic.can_train() ? 3 : 1;
  return clips * critic::kClipFrames * int64_t{sizeof(float)} +
         critic.parameter_count() * weight_copies * int64_t{sizeof(float)};
}

}  // namespace

absl::StatusOr<CriticStore::Metrics> CriticStore::AddMetrics(metrics::Registry& registry) {
  auto loads = registry.AddCounter("critic_loads_total",
                                   "Critics loaded from the database (cache misses), by purpose.",
                                   {"purpose"});
  if (!loads.ok()) return loads.status();
  auto clips = registry.AddHistogram("critic_score_batch_clips",
                                     "Clips per scoring batch (Score calls batched together).", {},
                                     {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  if (!clips.ok()) return clips.status();
  auto batch_seconds = registry.AddHistogram(
      "critic_score_batch_seconds", "Time to score one batch, waiting for the device included.", {},
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  if (!batch_seconds.ok()) return batch_seconds.status();
  auto round_seconds = registry.AddHistogram(
      "critic_training_round_seconds", "Time to add one rating and train on it.", {},
      {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  if (!round_seconds.ok()) return round_seconds.status();
  auto cache_bytes = registry.AddGauge(
      "critic_cache_bytes",
      "Memory the critics cached in this worker hold, estimated (bounded by --cache_mib).", {});
  if (!cache_bytes.ok()) return cache_bytes.status();
  return Metrics{*loads, &(*clips)->WithLabels({}), &(*batch_seconds)->WithLabels({}),
                 &(*round_seconds)->WithLabels({}), &(*cache_bytes)->WithLabels({})};
}

absl::StatusOr<std::unique_ptr<CriticStore>> CriticStore::Create(
    storage::CriticRepository& repository, const CriticStoreOptions& options,
    metrics::Registry* metrics) {
  if (options.cache_capacity < 1) return absl::InvalidArgumentError("cache capacity must be >= 1");
  if (options.cache_bytes < 1) return absl::InvalidArgumentError("cache bytes must be >= 1");
  if (options.max_batch_clips < 1) return absl::InvalidArgumentError("max batch must be >= 1");
  if (options.training_slots < 1) return absl::InvalidArgumentError("training slots must be >= 1");
  if (options.deleted_critic_sweep < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the deleted critics' sweep interval must not be negative");
  }
  if (options.batch_window < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("the batch window must not be negative, got ",
                                                   absl::FormatDuration(options.batch_window)));
  }
  if (std::string problem = critic::CheckDevice(options.device); !problem.empty()) {
    return absl::FailedPreconditionError(problem);
  }
  std::unique_ptr<metrics::Registry> own_metrics;
  auto added = AddMetrics(metrics::GivenOrOwn(metrics, own_metrics));
  if (!added.ok()) return added.status();
  return std::unique_ptr<CriticStore>(
      new CriticStore(repository, options, std::move(own_metrics), *added));
}

CriticStore::CriticStore(storage::CriticRepository& repository, CriticStoreOptions options,
                         std::unique_ptr<metrics::Registry> own_metrics, Metrics metrics)
    : repository_(repository),
      options_(WithScoringMemory(std::move(options))),
      own_metrics_(std::move(own_metrics)),
      metrics_(metrics),
      batcher_(options_.batch_window, options_.max_batch_clips,
               [this](const std::string& key, const std::vector<critic::ClipRun>& runs, int64_t) {
                 return ScoreNow(key, runs);
               }),
      free_training_slots_(options_.training_slots) {
  if (options_.deleted_critic_sweep <= absl::ZeroDuration()) return;
  sweeper_ = std::thread([this] {
    sweep_mutex_.Lock();
    while (!sweep_mutex_.AwaitWithTimeout(absl::Condition(&stopping_),
                                          options_.deleted_critic_sweep)) {
      sweep_mutex_.Unlock();
      SweepDeletedCritics();
      sweep_mutex_.Lock();
    }
    sweep_mutex_.Unlock();
  });
}

CriticStore::~CriticStore() {
  {
    absl::MutexLock lock(&sweep_mutex_);
    stopping_ = true;
  }
  if (sweeper_.joinable()) sweeper_.join();
}

std::shared_ptr<CriticStore::Entry> CriticStore::CacheEntry(const std::string& key) {
  absl::MutexLock lock(&cache_mutex_);
  auto found = cache_.find(key);
  if (found != cache_.end()) {
    lru_.splice(lru_.begin(), lru_, found->second.position);
    return found->second.entry;
  }
  lru_.push_front(key);
  auto entry = std::make_shared<Entry>();
  cache_[key] = Cached{entry, lru_.begin(), 0};
  ShrinkLocked();
  return entry;
}

void CriticStore::ShrinkLocked() {
  // Users of an evicted entry keep it alive through their shared_ptr until they finish.
  while (cache_.size() > 1 && (static_cast<int>(cache_.size()) > options_.cache_capacity ||
                               cached_bytes_ > options_.cache_bytes)) {
    auto last = cache_.find(lru_.back());
    cached_bytes_ -= last->second.bytes;
    cache_.erase(last);
    lru_.pop_back();
  }
  metrics_.cache_bytes->Set(cached_bytes_);
}

void CriticStore::Account(const std::string& key, int64_t bytes) {
  absl::MutexLock lock(&cache_mutex_);
  auto found = cache_.find(key);
  if (found == cache_.end()) return;  // Evicted while it was in use.
  cached_bytes_ += bytes - found->second.bytes;
  found->second.bytes = bytes;
  ShrinkLocked();
}

void CriticStore::Evict(const std::string& key) {
  absl::MutexLock lock(&cache_mutex_);
  auto found = cache_.find(key);
  if (found == cache_.end()) return;
  cached_bytes_ -= found->second.bytes;
  lru_.erase(found->second.position);
  cache_.erase(found);
  metrics_.cache_bytes->Set(cached_bytes_);
}

size_t CriticStore::EvictCritic(const std::string& critic_id) {
  const std::string train_key = TrainKey(critic_id);
  const std::string score_prefix = ScoreKeyPrefix(critic_id);
  std::vector<std::string> keys;
  {
    absl::MutexLock lock(&cache_mutex_);
    for (const auto& [key, cached] : cache_) {
      if (key == train_key || absl::StartsWith(key, score_prefix)) keys.push_back(key);
    }
  }
  for (const std::string& key : keys)
    Evict(key);
  return keys.size();
}

void CriticStore::SweepDeletedCritics() {
  std::set<std::string> cached;
  {
    absl::MutexLock lock(&cache_mutex_);
    for (const auto& [key, entry] : cache_)
      cached.insert(key.substr(0, key.find_first_of("@#")));
  }
  if (cached.empty()) return;
  auto existing = repository_.Existing({cached.begin(), cached.end()});
  if (!existing.ok()) {
    log::Debug("critic.sweep_failed", {{"error", std::string(existing.status().message())}});
    return;
  }
  for (const std::string& critic_id : cached) {
    if (existing->count(critic_id) > 0) continue;
    log::Info("critic.deleted_elsewhere",
              {{"critic_id", critic_id}, {"cached_copies_dropped", EvictCritic(critic_id)}});
  }
}

absl::StatusOr<std::pair<int, int>> CriticStore::DeleteCritic(const std::string& critic_id) {
  auto deleted = repository_.Delete(critic_id);
  if (!deleted.ok()) return deleted.status();
  // Its trainable copy holds the rated clips; its score copies would go on answering Score
  // calls for versions that no longer exist.
  const size_t dropped = EvictCritic(critic_id);
  log::Info("critic.deleted", {{"critic_id", critic_id},
                               {"versions", deleted->first},
                               {"examples", deleted->second},
                               {"cached_copies_dropped", dropped}});
  return deleted;
}

absl::StatusOr<storage::CriticRecord> CriticStore::CreateCritic(
    const std::string& owner, const critic::CriticConfig& config) {
  if (std::string problem = critic::ValidateConfig(config); !problem.empty()) {
    return absl::InvalidArgumentError(problem);
  }
  std::string error;
  auto fresh = critic::Critic::Create(config, options_.device, &error, options_.run);
  if (!fresh) return absl::InternalError(error);
  auto id = repository_.Create(owner, config, fresh->parameter_count(), fresh->SaveState());
  if (!id.ok()) return id.status();
  log::Info("critic.created", {{"critic_id", *id}, {"owner", owner}});
  storage::CriticRecord record;
  record.critic_id = *id;
  record.owner = owner;
  record.config = config;
  record.parameter_count = fresh->parameter_count();
  record.created_at = absl::Now();
  return record;
}

absl::StatusOr<TrainResult> CriticStore::Train(const std::string& critic_id,
                                               const std::vector<TrainExample>& examples,
                                               std::optional<uint64_t> expected_version) {
  std::vector<std::string> ids;
  for (const TrainExample& example : examples) {
    if (example.example_id.empty()) return absl::InvalidArgumentError("example_id must be set");
    if (static_cast<int64_t>(example.clip.size()) != critic::kClipFrames) {
      return absl::InvalidArgumentError(absl::StrCat("example ", Quoted(example.example_id),
                                                     " has ", example.clip.size(),
                                                     " samples, expected ", critic::kClipFrames));
    }
    ids.push_back(example.example_id);
  }
  if (absl::Status valid = storage::ValidateCriticId(critic_id); !valid.ok()) return valid;

  const std::string key = TrainKey(critic_id);
  std::shared_ptr<Entry> entry = CacheEntry(key);
  absl::MutexLock entry_lock(&entry->mutex);
  TrainResult result;
  auto round =
      [&](storage::LockedCritic& locked) -> absl::StatusOr<std::vector<storage::NewCriticVersion>> {
    const storage::CriticRecord& record = locked.record();
    if (expected_version.has_value() && *expected_version != record.latest_version) {
      return absl::AbortedError(absl::StrCat("critic ", critic_id, " is at version ",
                                             record.latest_version, ", not the expected ",
                                             *expected_version));
    }
    auto known = locked.KnownExamples(ids);
    if (!known.ok()) return known.status();
    result = TrainResult{};
    result.version = record.latest_version;
    std::vector<const TrainExample*> fresh;
    std::map<std::string, bool> taken = *std::move(known);
    for (const TrainExample& example : examples) {
      const auto [at, added] = taken.emplace(example.example_id, example.liked);
      if (added) {
        fresh.push_back(&example);
      } else if (at->second == example.liked) {
        ++result.already_known;
      } else {
        // A retry must repeat its rating: counting it as known would tell the caller the other
        // rating was learned.
        return absl::InvalidArgumentError(absl::StrCat(
            "example_id ", Quoted(example.example_id), " is already rated ",
            at->second ? "RATING_LIKE" : "RATING_DISLIKE", "; the same id must keep its rating"));
      }
    }
    if (entry->dirty || entry->version != record.latest_version || !entry->critic) {
      entry->critic.reset();
    }
    if (!entry->critic) {
      auto state = locked.LatestState();
      if (!state.ok()) return state.status();
      auto clips = locked.Examples();
      if (!clips.ok()) return clips.status();
      std::string error;
      entry->critic = critic::Critic::Restore(record.config, options_.device, *state,
                                              *std::move(clips), &error, options_.run);
      if (!entry->critic)
        return absl::DataLossError(absl::StrCat("critic ", critic_id, ": ", error));
      entry->version = record.latest_version;
      metrics_.loads->WithLabels({"train"}).Increment();
      log::Debug("critic.loaded", {{"critic_id", critic_id}, {"version", entry->version}});
    }
    result.liked_count = entry->critic->liked_count();
    result.disliked_count = entry->critic->disliked_count();
    std::vector<storage::NewCriticVersion> versions;
    if (fresh.empty()) return versions;
    entry->dirty = true;
    for (const TrainExample* example : fresh) {
      const bool had_graphs = entry->critic->uses_cuda_graphs();
      critic::TrainingRound round;
      const absl::Time round_start = absl::Now();
      try {
        round = entry->critic->AddRatingAndTrain(example->clip, example->liked);
        metrics_.training_round_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - round_start));
      } catch (const std::exception& e) {
        // An error rolls the transaction back (no version of this call is stored) and drops
        // the half-trained critic below.
        return RunFailed(critic_id, "training", e);
      }
      LogIfGraphsFailed(had_graphs, *entry->critic, "critic_id", critic_id);
      storage::NewCriticVersion version;
      version.example_id = example->example_id;
      version.example = {example->clip, example->liked};
      version.liked_count = entry->critic->liked_count();
      version.disliked_count = entry->critic->disliked_count();
      if (round.trained) version.mean_loss = round.mean_loss;
      version.state = entry->critic->SaveState();
      versions.push_back(std::move(version));
    }
    result.added = static_cast<int>(versions.size());
    result.liked_count = versions.back().liked_count;
    result.disliked_count = versions.back().disliked_count;
    result.last_loss = versions.back().mean_loss;
    return versions;
  };
  // Waiting here, before the transaction, holds neither a database connection nor a row lock.
  training_mutex_.LockWhen(absl::Condition(
      +[](int* free) { return *free > 0; }, &free_training_slots_));
  --free_training_slots_;
  training_mutex_.Unlock();
  auto after = repository_.UpdateLocked(critic_id, round);
  {
    absl::MutexLock slot_lock(&training_mutex_);
    ++free_training_slots_;
  }
  if (!after.ok()) {
    entry->critic.reset();  // It may hold training that was never committed.
    entry->dirty = false;
    if (absl::IsNotFound(after.status())) {
      Evict(key);  // Deleted, perhaps through another worker.
    } else {
      Account(key, 0);
    }
    return after.status();
  }
  entry->dirty = false;
  entry->version = after->latest_version;
  Account(key, entry->critic ? HeldBytes(*entry->critic) : 0);
  result.version = after->latest_version;
  if (result.added > 0) {
    log::Info("critic.trained", {{"critic_id", critic_id},
                                 {"version", result.version},
                                 {"added", result.added},
                                 {"loss", result.last_loss.value_or(-1.0)}});
  }
  return result;
}

critic::HostClips CriticStore::NewClips(int64_t capacity) const {
  return critic::HostClips::ForDevice(options_.device, capacity);
}

absl::StatusOr<ScoreResult> CriticStore::Score(const std::string& critic_id,
                                               std::optional<uint64_t> version,
                                               critic::ClipRun clips) {
  if (clips.count < 1) return absl::InvalidArgumentError("nothing to score: the batch is empty");
  if (clips.clips == nullptr) return absl::InvalidArgumentError("no clip memory to score");
  ScoreResult result;
  if (version.has_value()) {
    result.version = *version;
  } else {
    auto record = repository_.Get(critic_id);
    if (!record.ok()) return record.status();
    result.version = record->latest_version;
  }
  auto scores = batcher_.Score(ScoreKey(critic_id, result.version), clips);
  if (!scores.ok()) return scores.status();
  result.like_probability = *std::move(scores);
  return result;
}

absl::StatusOr<std::vector<float>> CriticStore::ScoreNow(const std::string& key,
                                                         const std::vector<critic::ClipRun>& runs) {
  std::shared_ptr<Entry> entry = CacheEntry(key);
  absl::MutexLock lock(&entry->mutex);
  if (!entry->critic) {
    const size_t at = key.rfind('@');
    const std::string critic_id = key.substr(0, at);
    uint64_t version = 0;
    if (!absl::SimpleAtoi(key.substr(at + 1), &version)) return absl::InternalError("bad key");
    auto record = repository_.Get(critic_id);
    if (!record.ok()) {
      Evict(key);
      return record.status();
    }
    auto state = repository_.State(critic_id, version);
    if (!state.ok()) {
      Evict(key);
      return state.status();
    }
    state->optimizer.clear();  // Score-only copy.
    std::string error;
    entry->critic =
        critic::Critic::Restore(record->config, options_.device, *state, {}, &error, options_.run);
    if (!entry->critic) {
      Evict(key);
      return absl::DataLossError(absl::StrCat(key, ": ", error));
    }
    entry->version = version;
    metrics_.loads->WithLabels({"score"}).Increment();
    Account(key, HeldBytes(*entry->critic));
  }
  critic::Critic* const critic = entry->critic.get();
  std::vector<float> scores;
  absl::Status failed;
  int64_t clips = 0;
  for (const critic::ClipRun& run : runs)
    clips += run.count;
  metrics_.batch_clips->Observe(static_cast<double>(clips));
  const absl::Time batch_start = absl::Now();
  scoring_thread_.Run([&] {
    const bool had_graphs = critic->uses_cuda_graphs();
    try {
      scores = critic->Score(runs);
    } catch (const std::exception& e) {
      failed = RunFailed(key, "scoring", e);
    }
    LogIfGraphsFailed(had_graphs, *critic, "critic_version", key);
  });
  metrics_.batch_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - batch_start));
  if (!failed.ok()) return failed;
  return scores;
}

}  // namespace dd
