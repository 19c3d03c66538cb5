// Users, sessions, loops and ratings in PostgreSQL (schema `session`, migrations/0002). Owns all
// SQL of the session service. Patterns and options are stored as the caller's serialized bytes,
// so this layer knows nothing of the API types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/storage/pg_pool.h"

namespace dd::storage {

struct UserRecord {
  std::string user_id;
  std::string display_name;
  absl::Time created_at;
};

struct SessionRecord {
  std::string session_id;
  std::string user_id;
  std::string options;  // Serialized deepdrummer.v1.SessionOptions.
  uint64_t seed = 0;
  std::string critic_id;
  int phase1_total = 0;
  int phase2_per_critic = 0;
  int phase1_critic_lag = 0;  // SessionOptions.phase1_critic_lag: 0 or 1.
  std::optional<uint64_t> final_critic_version;
  absl::Time created_at;
  absl::Time updated_at;
};

struct SessionCounts {
  int loops = 0;  // Prepared or presented.
  int presented = 0;
  int phase1_rated = 0;
  int phase2_rated = 0;
  int likes = 0;
  int dislikes = 0;
};

struct RatingRecord {
  bool liked = false;
  std::string request_id;
  absl::Time rated_at;
};

struct NewLoop {
  int position = 0;
  int phase = 1;
  std::string source;   // "learning", "initial" or "final".
  std::string pattern;  // Serialized deepdrummer.v1.DrumLoop.
  std::string fingerprint;
  uint64_t critic_version = 0;
  double score = 0;
  int steps_taken = 0;
  bool capped = false;
};

struct LoopRecord : NewLoop {
  std::string loop_id;
  std::string session_id;
  std::string user_id;  // The session's owner.
  absl::Time prepared_at;
  std::optional<absl::Time> presented_at;
  std::optional<RatingRecord> rating;
};

struct RateOutcome {
  bool duplicate = false;  // This request id had been applied before.
  std::string session_id;
  absl::Time rated_at;
};

struct DeletedCounts {
  int sessions = 0;
  int loops = 0;
  int ratings = 0;
  // The critics of the sessions deleted (they live in the critic service, which deletes them).
  std::vector<std::string> critic_ids;
};

// UUIDs as the API hands them out; INVALID_ARGUMENT names the field otherwise.
absl::Status ValidateUuid(const std::string& value, const char* field);

class SessionRepository {
 public:
  static PreparedStatements Statements();
  explicit SessionRepository(PgPool& pool) : pool_(pool) {}

  // With a non-empty request_id, a retry returns the user made the first time.
  absl::StatusOr<UserRecord> CreateUser(const std::string& display_name,
                                        const std::string& request_id);
  absl::StatusOr<UserRecord> GetUser(const std::string& user_id);
  // The critic ids of the user's sessions (to delete them in the critic service first).
  absl::StatusOr<std::vector<std::string>> CriticIdsOfUser(const std::string& user_id);
  absl::StatusOr<DeletedCounts> DeleteUser(const std::string& user_id);

  // Inserts the session unless (user, request_id) exists; returns the stored session and whether
  // this call created it.
  absl::StatusOr<std::pair<SessionRecord, bool>> CreateSession(const SessionRecord& session,
                                                               const std::string& request_id);
  // The session the user started with this request_id, if any (none for an empty one).
  absl::StatusOr<std::optional<SessionRecord>> FindSessionByRequest(const std::string& user_id,
                                                                    const std::string& request_id);
  absl::StatusOr<SessionRecord> GetSession(const std::string& session_id);
  // Sessions of a user by creation time; `after_session_id` continues a listing.
  absl::StatusOr<std::vector<SessionRecord>> ListSessions(const std::string& user_id,
                                                          const std::string& after_session_id,
                                                          int limit);
  absl::StatusOr<SessionCounts> Counts(const std::string& session_id);
  absl::Status SetFinalCriticVersion(const std::string& session_id, uint64_t version);

  // Every loop of the session with its rating, by position.
  absl::StatusOr<std::vector<LoopRecord>> Loops(const std::string& session_id);
  absl::StatusOr<LoopRecord> GetLoop(const std::string& loop_id);
  // False when a loop already holds that position (another replica prepared it first).
  absl::StatusOr<bool> InsertLoop(const std::string& session_id, const NewLoop& loop);
  // The first unrated loop of the session, marked presented now if it was only prepared;
  // nullopt when every loop so far is rated.
  absl::StatusOr<std::optional<LoopRecord>> PresentNext(const std::string& session_id);

  // Records a rating exactly once per request id, which is unique within the loop's session.
  // NOT_FOUND: no such loop. PERMISSION_DENIED: `user_id` given and not the owner.
  // FAILED_PRECONDITION: not presented yet. ALREADY_EXISTS: rated under another request id.
  // INVALID_ARGUMENT: request id used for another loop of the session.
  absl::StatusOr<RateOutcome> Rate(const std::string& loop_id, bool liked,
                                   const std::string& request_id, const std::string& user_id);

 private:
  PgPool& pool_;
};

}  // namespace dd::storage
