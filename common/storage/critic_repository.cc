#include "common/storage/critic_repository.h"

#include <cstring>
#include <limits>
#include <set>

#include <pqxx/binarystring>
#include <pqxx/result>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/storage/pg_values.h"
#include "common/storage/uuid.h"
#include "common/text/quoted.h"

namespace dd::storage {
namespace {

constexpr char kCriticColumns[] =
    "critic_id::text, owner, extract(epoch from created_at), latest_version, parameter_count, "
    "learning_rate, weight_decay, dropout, minibatches_per_rating, minibatch_size, "
    "augment_gain_stddev, augment_dc_offset_stddev, augment_noise_stddev, augment_max_shift, "
    "mel_sample_rate, seed, rhythm_branch, rhythm_learning_rate";

pqxx::binarystring ClipBytes(const std::vector<float>& clip) {
  return pqxx::binarystring(clip.data(), clip.size() * sizeof(float));
}

std::vector<float> ClipFromField(const pqxx::field& field) {
  pqxx::binarystring bytes(field);
  std::vector<float> clip(bytes.size() / sizeof(float));
  std::memcpy(clip.data(), bytes.data(), clip.size() * sizeof(float));
  return clip;
}

std::string StringFromBytea(const pqxx::field& field) {
  if (field.is_null()) return "";
  return pqxx::binarystring(field).str();
}

CriticRecord RecordFromRow(const pqxx::row& row) {
  CriticRecord record;
  record.critic_id = row[0].as<std::string>();
  record.owner = row[1].as<std::string>();
  record.created_at = TimeFromEpoch(row[2]);
  record.latest_version = row[3].as<uint64_t>();
  record.parameter_count = row[4].as<int64_t>();
  critic::CriticConfig& c = record.config;
  c.learning_rate = row[5].as<double>();
  c.weight_decay = row[6].as<double>();
  c.dropout = row[7].as<double>();
  c.minibatches_per_rating = row[8].as<int>();
  c.minibatch_size = row[9].as<int>();
  c.augment_gain_stddev = row[10].as<double>();
  c.augment_dc_offset_stddev = row[11].as<double>();
  c.augment_noise_stddev = row[12].as<double>();
  c.augment_max_shift = row[13].as<int>();
  c.mel_sample_rate = row[14].as<int>();
  c.seed = static_cast<uint64_t>(row[15].as<int64_t>());
  c.rhythm_branch = row[16].as<bool>();
  c.rhythm_learning_rate = row[17].as<double>();
  return record;
}

absl::Status NotFound(const std::string& critic_id) {
  return absl::NotFoundError(absl::StrCat("critic ", critic_id, " does not exist"));
}

// A transaction that failed before it held the critic's row lock, when the failure is one a retry
// can get past (a lock wait beyond lock_timeout, a deadlock): said in the API's terms rather than
// the database's. Any other status is returned as it is.
absl::Status BusyIfLockNotTaken(const std::string& critic_id, bool lock_taken,
                                absl::Status status) {
  if (lock_taken || status.code() != absl::StatusCode::kAborted) return status;
  return absl::AbortedError(absl::StrCat(
      "critic ", critic_id,
      " is busy: another call holds it (usually a training round) beyond the database's lock "
      "timeout; retry when it has finished (",
      status.message(), ")"));
}

std::map<std::string, bool> KnownExamplesIn(pqxx::work& tx, const std::string& critic_id,
                                            const std::vector<std::string>& example_ids) {
  // One query for the critic's ratings (one per example: tens to hundreds) instead of one round
  // trip per id, as callers ask about every rating so far.
  const std::set<std::string> wanted(example_ids.begin(), example_ids.end());
  std::map<std::string, bool> known;
  for (const auto& row : tx.exec_prepared("critic_example_ratings", critic_id)) {
    std::string id = row[0].as<std::string>();
    if (wanted.contains(id)) known.emplace(std::move(id), row[1].as<bool>());
  }
  return known;
}

class LockedCriticInTransaction : public LockedCritic {
 public:
  LockedCriticInTransaction(pqxx::work& tx, CriticRecord record)
      : tx_(tx), record_(std::move(record)) {}
  const CriticRecord& record() const override { return record_; }

  absl::StatusOr<std::map<std::string, bool>> KnownExamples(
      const std::vector<std::string>& example_ids) override {
    return KnownExamplesIn(tx_, record_.critic_id, example_ids);
  }

  absl::StatusOr<std::vector<critic::RatedClip>> Examples() override {
    std::vector<critic::RatedClip> clips;
    for (const auto& row : tx_.exec_prepared("critic_examples", record_.critic_id)) {
      clips.push_back({ClipFromField(row[0]), row[1].as<bool>()});
    }
    return clips;
  }

  absl::StatusOr<critic::CriticState> LatestState() override {
    pqxx::result rows =
        tx_.exec_prepared("critic_state", record_.critic_id, record_.latest_version);
    if (rows.empty()) return absl::DataLossError("latest critic version missing");
    return critic::CriticState{StringFromBytea(rows[0][0]), StringFromBytea(rows[0][1]),
                               StringFromBytea(rows[0][2])};
  }

 private:
  pqxx::work& tx_;
  CriticRecord record_;
};

}  // namespace

absl::Status ValidateCriticId(const std::string& critic_id) {
  const bool ok = IsUuid(critic_id);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "critic_id must be a UUID as returned by CreateCritic, got ", Quoted(critic_id)));
  }
  return absl::OkStatus();
}

PreparedStatements CriticRepository::Statements() {
  return {
      {"critic_insert",
       "INSERT INTO critic.critics (owner, parameter_count, learning_rate, weight_decay, dropout, "
       "minibatches_per_rating, minibatch_size, augment_gain_stddev, augment_dc_offset_stddev, "
       "augment_noise_stddev, augment_max_shift, mel_sample_rate, seed, rhythm_branch, "
       "rhythm_learning_rate) "
       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
       "RETURNING critic_id::text"},
      {"critic_version_insert",
       "INSERT INTO critic.versions (critic_id, version, example_id, liked_count, disliked_count, "
       "mean_loss, model_state, optimizer_state, rng_state) "
       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"},
      {"critic_example_insert",
       "INSERT INTO critic.examples (critic_id, example_id, seq, liked, clip) "
       "VALUES ($1, $2, $3, $4, $5)"},
      {"critic_get",
       absl::StrCat("SELECT ", kCriticColumns, " FROM critic.critics WHERE critic_id = $1")},
      {"critic_lock", absl::StrCat("SELECT ", kCriticColumns,
                                   " FROM critic.critics WHERE critic_id = $1 FOR UPDATE")},
      {"critic_set_latest", "UPDATE critic.critics SET latest_version = $2 WHERE critic_id = $1"},
      {"critic_drop_old_optimizers",
       "UPDATE critic.versions SET optimizer_state = NULL "
       "WHERE critic_id = $1 AND version < $2 AND optimizer_state IS NOT NULL"},
      {"critic_drop_old_weights",
       "UPDATE critic.versions SET model_state = NULL, rng_state = NULL "
       "WHERE critic_id = $1 AND version > 0 AND version <= $2 AND model_state IS NOT NULL"},
      {"critic_versions",
       "SELECT version, extract(epoch from created_at), coalesce(example_id, ''), liked_count, "
       "disliked_count, mean_loss, model_state IS NOT NULL FROM critic.versions "
       "WHERE critic_id = $1 ORDER BY version"},
      {"critic_state",
       "SELECT model_state, optimizer_state, rng_state FROM critic.versions "
       "WHERE critic_id = $1 AND version = $2"},
      {"critic_example_ratings",
       "SELECT example_id, liked FROM critic.examples WHERE critic_id = $1"},
      {"critic_examples",
       "SELECT clip, liked FROM critic.examples WHERE critic_id = $1 ORDER BY seq"},
      {"critic_example_count", "SELECT count(*) FROM critic.examples WHERE critic_id = $1"},
      {"critic_version_count", "SELECT count(*) FROM critic.versions WHERE critic_id = $1"},
      {"critic_delete", "DELETE FROM critic.critics WHERE critic_id = $1"},
      {"critic_existing",
       "SELECT critic_id::text FROM critic.critics WHERE critic_id = ANY($1::uuid[])"},
  };
}

absl::StatusOr<std::string> CriticRepository::Create(const std::string& owner,
                                                     const critic::CriticConfig& config,
                                                     int64_t parameter_count,
                                                     const critic::CriticState& initial) {
  std::string critic_id;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    const critic::CriticConfig& c = config;
    critic_id =
        tx.exec_prepared1("critic_insert", owner, parameter_count, c.learning_rate, c.weight_decay,
                          c.dropout, c.minibatches_per_rating, c.minibatch_size,
                          c.augment_gain_stddev, c.augment_dc_offset_stddev, c.augment_noise_stddev,
                          c.augment_max_shift, c.mel_sample_rate, static_cast<int64_t>(c.seed),
                          c.rhythm_branch, c.rhythm_learning_rate)[0]
            .as<std::string>();
    tx.exec_prepared0("critic_version_insert", critic_id, 0, nullptr, 0, 0, nullptr,
                      Bytes(initial.model), Bytes(initial.optimizer), Bytes(initial.rng));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return critic_id;
}

absl::StatusOr<CriticRecord> CriticRepository::Get(const std::string& critic_id) {
  if (absl::Status valid = ValidateCriticId(critic_id); !valid.ok()) return valid;
  CriticRecord record;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    pqxx::result rows = tx.exec_prepared("critic_get", critic_id);
    if (rows.empty()) return NotFound(critic_id);
    record = RecordFromRow(rows[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return record;
}

absl::StatusOr<std::set<std::string>> CriticRepository::Existing(
    const std::vector<std::string>& critic_ids) {
  std::set<std::string> existing;
  if (critic_ids.empty()) return existing;
  for (const std::string& critic_id : critic_ids) {
    if (absl::Status valid = ValidateCriticId(critic_id); !valid.ok()) return valid;
  }
  // Valid ids hold only hex digits and dashes: the array literal needs no quoting.
  const std::string ids = absl::StrCat("{", absl::StrJoin(critic_ids, ","), "}");
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    existing.clear();
    for (const auto& row : tx.exec_prepared("critic_existing", ids))
      existing.insert(row[0].as<std::string>());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return existing;
}

absl::StatusOr<std::map<std::string, bool>> CriticRepository::KnownExamples(
    const std::string& critic_id, const std::vector<std::string>& example_ids) {
  if (absl::Status valid = ValidateCriticId(critic_id); !valid.ok()) return valid;
  std::map<std::string, bool> known;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    known = KnownExamplesIn(tx, critic_id, example_ids);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return known;
}

absl::StatusOr<std::vector<CriticVersionRecord>> CriticRepository::Versions(
    const std::string& critic_id) {
  if (absl::Status valid = ValidateCriticId(critic_id); !valid.ok()) return valid;
  std::vector<CriticVersionRecord> versions;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    versions.clear();
    for (const auto& row : tx.exec_prepared("critic_versions", critic_id)) {
      CriticVersionRecord version;
      version.version = row[0].as<uint64_t>();
      version.created_at = TimeFromEpoch(row[1]);
      version.example_id = row[2].as<std::string>();
      version.liked_count = row[3].as<int>();
      version.disliked_count = row[4].as<int>();
      if (!row[5].is_null()) version.mean_loss = row[5].as<double>();
      version.weights_kept = row[6].as<bool>();
      versions.push_back(std::move(version));
    }
    if (versions.empty()) return NotFound(critic_id);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return versions;
}

absl::StatusOr<critic::CriticState> CriticRepository::State(const std::string& critic_id,
                                                            uint64_t version) {
  if (absl::Status valid = ValidateCriticId(critic_id); !valid.ok()) return valid;
  critic::CriticState state;
  // Versions are stored as bigint; one beyond it cannot exist (PostgreSQL would refuse the value).
  const bool storable = version <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    pqxx::result rows;
    if (storable) rows = tx.exec_prepared("critic_state", critic_id, static_cast<int64_t>(version));
    if (rows.empty()) {
      if (tx.exec_prepared("critic_get", critic_id).empty()) return NotFound(critic_id);
      return absl::NotFoundError(absl::StrCat("critic ", critic_id, " has no version ", version));
    }
    if (rows[0][0].is_null()) {
      // Said without this worker's setting: another worker, set otherwise, may have dropped them.
      return absl::FailedPreconditionError(absl::StrCat(
          "critic ", critic_id, " version ", version,
          " no longer has its weights: the critic service keeps them for version 0 and each "
          "critic's newest versions only (--keep_version_weights); use a newer version"));
    }
    state = {StringFromBytea(rows[0][0]), StringFromBytea(rows[0][1]), StringFromBytea(rows[0][2])};
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return state;
}

absl::StatusOr<std::pair<int, int>> CriticRepository::Delete(const std::string& critic_id) {
  if (absl::Status valid = ValidateCriticId(critic_id); !valid.ok()) return valid;
  std::pair<int, int> counts;
  bool lock_taken = false;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    lock_taken = false;
    if (tx.exec_prepared("critic_lock", critic_id).empty()) return NotFound(critic_id);
    lock_taken = true;
    counts.first = tx.exec_prepared1("critic_version_count", critic_id)[0].as<int>();
    counts.second = tx.exec_prepared1("critic_example_count", critic_id)[0].as<int>();
    tx.exec_prepared0("critic_delete", critic_id);
    return absl::OkStatus();
  });
  if (!status.ok()) return BusyIfLockNotTaken(critic_id, lock_taken, status);
  return counts;
}

absl::StatusOr<CriticRecord> CriticRepository::UpdateLocked(
    const std::string& critic_id,
    const std::function<absl::StatusOr<std::vector<NewCriticVersion>>(LockedCritic&)>& round) {
  if (absl::Status valid = ValidateCriticId(critic_id); !valid.ok()) return valid;
  CriticRecord after;
  bool lock_taken = false;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    lock_taken = false;
    pqxx::result rows = tx.exec_prepared("critic_lock", critic_id);
    if (rows.empty()) return NotFound(critic_id);
    lock_taken = true;
    LockedCriticInTransaction locked(tx, RecordFromRow(rows[0]));
    auto versions = round(locked);
    if (!versions.ok()) return versions.status();
    after = locked.record();
    if (versions->empty()) return absl::OkStatus();
    int64_t seq = tx.exec_prepared1("critic_example_count", critic_id)[0].as<int64_t>();
    // Versions up to this one lose their weights (none when every version keeps them).
    const int64_t kept = options_.kept_weight_versions;
    const int64_t last_without_weights =
        kept == 0 ? 0 : static_cast<int64_t>(after.latest_version + versions->size()) - kept;
    for (size_t i = 0; i < versions->size(); ++i) {
      const NewCriticVersion& v = (*versions)[i];
      const bool newest = i + 1 == versions->size();
      ++after.latest_version;
      tx.exec_prepared0("critic_example_insert", critic_id, v.example_id, ++seq, v.example.liked,
                        ClipBytes(v.example.audio));
      std::optional<double> loss = v.mean_loss;
      // A round of several ratings stores the weights of the versions that are kept only.
      const bool with_weights = static_cast<int64_t>(after.latest_version) > last_without_weights;
      // (The newest version always keeps its weights: kept_weight_versions is 0, or 1 and above.)
      if (newest) {
        tx.exec_prepared0("critic_version_insert", critic_id, after.latest_version, v.example_id,
                          v.liked_count, v.disliked_count, loss, Bytes(v.state.model),
                          Bytes(v.state.optimizer), Bytes(v.state.rng));
      } else if (with_weights) {
        tx.exec_prepared0("critic_version_insert", critic_id, after.latest_version, v.example_id,
                          v.liked_count, v.disliked_count, loss, Bytes(v.state.model), nullptr,
                          Bytes(v.state.rng));
      } else {
        tx.exec_prepared0("critic_version_insert", critic_id, after.latest_version, v.example_id,
                          v.liked_count, v.disliked_count, loss, nullptr, nullptr, nullptr);
      }
    }
    tx.exec_prepared0("critic_drop_old_optimizers", critic_id, after.latest_version);
    if (last_without_weights > 0)
      tx.exec_prepared0("critic_drop_old_weights", critic_id, last_without_weights);
    tx.exec_prepared0("critic_set_latest", critic_id, after.latest_version);
    return absl::OkStatus();
  });
  if (!status.ok()) return BusyIfLockNotTaken(critic_id, lock_taken, status);
  return after;
}

}  // namespace dd::storage
