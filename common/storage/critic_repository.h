// Critic state in PostgreSQL (schema `critic`, see migrations/0001_critic.sql). Owns all SQL for
// critics; a training round's new versions are written in the same transaction that locked the
// critic, so a worker that dies mid-way leaves the critic exactly at its previous version.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/critic/critic.h"
#include "common/storage/pg_pool.h"

namespace dd::storage {

struct CriticRecord {
  std::string critic_id;
  std::string owner;
  critic::CriticConfig config;
  uint64_t latest_version = 0;
  int64_t parameter_count = 0;
  absl::Time created_at;
};

struct CriticVersionRecord {
  uint64_t version = 0;
  absl::Time created_at;
  std::string example_id;  // Empty for version 0.
  int liked_count = 0;
  int disliked_count = 0;
  std::optional<double> mean_loss;
  bool weights_kept = true;  // False once dropped (CriticRepositoryOptions::kept_weight_versions).
};

struct CriticRepositoryOptions {
  // How many of a critic's newest versions keep their weights (~1.2 MB each, one version per
  // rating); older ones keep their row but not their weights, and cannot be scored with or
  // snapshotted. Version 0, the untrained critic, always keeps them. 0 keeps every version's.
  int64_t kept_weight_versions = 0;
};

// One version made by a training round, with the example that made it.
struct NewCriticVersion {
  std::string example_id;
  critic::RatedClip example;
  int liked_count = 0;
  int disliked_count = 0;
  std::optional<double> mean_loss;
  critic::CriticState state;  // state.optimizer is stored only for the newest version.
};

// What a training round may read while it holds the critic's row lock.
class LockedCritic {
 public:
  virtual ~LockedCritic() = default;
  virtual const CriticRecord& record() const = 0;
  // Of `example_ids`, those already stored for this critic, each with its rating (true: liked).
  virtual absl::StatusOr<std::map<std::string, bool>> KnownExamples(
      const std::vector<std::string>& example_ids) = 0;
  // Every stored example, in rating order.
  virtual absl::StatusOr<std::vector<critic::RatedClip>> Examples() = 0;
  virtual absl::StatusOr<critic::CriticState> LatestState() = 0;
};

class CriticRepository {
 public:
  // Statements to prepare on every connection of the pool.
  static PreparedStatements Statements();
  explicit CriticRepository(PgPool& pool, CriticRepositoryOptions options = {})
      : pool_(pool), options_(options) {}

  // Stores a new critic with its version 0; returns its id.
  absl::StatusOr<std::string> Create(const std::string& owner, const critic::CriticConfig& config,
                                     int64_t parameter_count, const critic::CriticState& initial);
  absl::StatusOr<CriticRecord> Get(const std::string& critic_id);
  absl::StatusOr<std::vector<CriticVersionRecord>> Versions(const std::string& critic_id);
  // Of `example_ids`, those stored for the critic, each with its rating (true: liked); read
  // without the critic's lock (examples are never removed but with their critic).
  absl::StatusOr<std::map<std::string, bool>> KnownExamples(
      const std::string& critic_id, const std::vector<std::string>& example_ids);
  // Weights (and, for the latest version, optimizer state) of one version; FAILED_PRECONDITION
  // for a version whose weights were dropped.
  absl::StatusOr<critic::CriticState> State(const std::string& critic_id, uint64_t version);
  // Of `critic_ids` (lower-case), those that exist, in one query: for workers that check their
  // cached critics were not deleted through another worker.
  absl::StatusOr<std::set<std::string>> Existing(const std::vector<std::string>& critic_ids);
  // Deletes the critic; returns (versions, examples) deleted.
  absl::StatusOr<std::pair<int, int>> Delete(const std::string& critic_id);

  // Locks the critic (SELECT ... FOR UPDATE), runs `round`, and stores the versions it returns as
  // latest_version + 1, + 2, ... in the same transaction. Returns the record after the round.
  // The round may run again if the transaction is retried, so it must only depend on what it
  // reads through LockedCritic.
  absl::StatusOr<CriticRecord> UpdateLocked(
      const std::string& critic_id,
      const std::function<absl::StatusOr<std::vector<NewCriticVersion>>(LockedCritic&)>& round);

 private:
  PgPool& pool_;
  const CriticRepositoryOptions options_;
};

// Critic ids are UUIDs; anything else is INVALID_ARGUMENT before it reaches the database.
absl::Status ValidateCriticId(const std::string& critic_id);

}  // namespace dd::storage
