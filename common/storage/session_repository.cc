#include "common/storage/session_repository.h"

#include <pqxx/binarystring>
#include <pqxx/result>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/storage/pg_values.h"
#include "common/storage/uuid.h"
#include "common/text/quoted.h"

namespace dd::storage {
namespace {

constexpr char kSessionColumns[] =
    "session_id::text, user_id::text, options, seed, critic_id::text, phase1_total, "
    "phase2_per_critic, final_critic_version, extract(epoch from created_at), "
    "extract(epoch from updated_at), phase1_critic_lag";

constexpr char kLoopSelect[] =
    "SELECT l.loop_id::text, l.session_id::text, s.user_id::text, l.position, l.phase, l.source, "
    "l.pattern, l.fingerprint, l.critic_version, l.score, l.steps_taken, l.capped, "
    "extract(epoch from l.prepared_at), extract(epoch from l.presented_at), r.liked, "
    "r.request_id, extract(epoch from r.rated_at) "
    "FROM session.loops l JOIN session.sessions s ON s.session_id = l.session_id "
    "LEFT JOIN session.ratings r ON r.loop_id = l.loop_id ";

UserRecord UserFromRow(const pqxx::row& row) {
  return {row[0].as<std::string>(), row[1].as<std::string>(), TimeFromEpoch(row[2])};
}

SessionRecord SessionFromRow(const pqxx::row& row) {
  SessionRecord s;
  s.session_id = row[0].as<std::string>();
  s.user_id = row[1].as<std::string>();
  s.options = pqxx::binarystring(row[2]).str();
  s.seed = static_cast<uint64_t>(row[3].as<int64_t>());
  s.critic_id = row[4].as<std::string>();
  s.phase1_total = row[5].as<int>();
  s.phase2_per_critic = row[6].as<int>();
  if (!row[7].is_null()) s.final_critic_version = row[7].as<uint64_t>();
  s.created_at = TimeFromEpoch(row[8]);
  s.updated_at = TimeFromEpoch(row[9]);
  s.phase1_critic_lag = row[10].as<int>();
  return s;
}

LoopRecord LoopFromRow(const pqxx::row& row) {
  LoopRecord l;
  l.loop_id = row[0].as<std::string>();
  l.session_id = row[1].as<std::string>();
  l.user_id = row[2].as<std::string>();
  l.position = row[3].as<int>();
  l.phase = row[4].as<int>();
  l.source = row[5].as<std::string>();
  l.pattern = pqxx::binarystring(row[6]).str();
  l.fingerprint = row[7].as<std::string>();
  l.critic_version = row[8].as<uint64_t>();
  l.score = row[9].as<double>();
  l.steps_taken = row[10].as<int>();
  l.capped = row[11].as<bool>();
  l.prepared_at = TimeFromEpoch(row[12]);
  if (!row[13].is_null()) l.presented_at = TimeFromEpoch(row[13]);
  if (!row[14].is_null()) {
    l.rating = RatingRecord{row[14].as<bool>(), row[15].as<std::string>(), TimeFromEpoch(row[16])};
  }
  return l;
}

absl::Status UserNotFound(const std::string& user_id) {
  return absl::NotFoundError(absl::StrCat("user ", user_id, " does not exist"));
}
absl::Status SessionNotFound(const std::string& session_id) {
  return absl::NotFoundError(absl::StrCat("session ", session_id, " does not exist"));
}

// A retry must repeat the rating it retries: answering "duplicate" to the opposite rating would
// tell the client its second answer was kept when the first one was.
absl::Status SameRatingAsStored(const pqxx::field& stored_liked, bool liked,
                                const std::string& request_id) {
  const bool stored = stored_liked.as<bool>();
  if (stored == liked) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "request_id ", request_id, " already rated this loop ",
      stored ? "RATING_LIKE" : "RATING_DISLIKE", "; a retry must send the same rating"));
}

}  // namespace

absl::Status ValidateUuid(const std::string& value, const char* field) {
  const bool ok = IsUuid(value);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be a UUID, got ", Quoted(value)));
  }
  return absl::OkStatus();
}

PreparedStatements SessionRepository::Statements() {
  return {
      {"user_insert",
       "INSERT INTO session.users (display_name, request_id) VALUES ($1, NULLIF($2, '')) "
       "ON CONFLICT (request_id) DO NOTHING "
       "RETURNING user_id::text, display_name, extract(epoch from created_at)"},
      {"user_by_request",
       "SELECT user_id::text, display_name, extract(epoch from created_at) FROM session.users "
       "WHERE request_id = $1"},
      {"user_get",
       "SELECT user_id::text, display_name, extract(epoch from created_at) FROM session.users "
       "WHERE user_id = $1"},
      {"user_critics", "SELECT critic_id::text FROM session.sessions WHERE user_id = $1"},
      {"user_delete_counts",
       "SELECT count(DISTINCT s.session_id), count(DISTINCT l.loop_id), count(DISTINCT r.loop_id) "
       "FROM session.sessions s LEFT JOIN session.loops l ON l.session_id = s.session_id "
       "LEFT JOIN session.ratings r ON r.loop_id = l.loop_id WHERE s.user_id = $1"},
      {"user_delete", "DELETE FROM session.users WHERE user_id = $1"},
      {"session_insert",
       absl::StrCat(
           "INSERT INTO session.sessions (user_id, request_id, options, seed, critic_id, "
           "phase1_total, phase2_per_critic, phase1_critic_lag) VALUES ($1, NULLIF($2, ''), "
           "$3, $4, $5, $6, $7, $8) ON CONFLICT (user_id, request_id) DO NOTHING RETURNING ",
           kSessionColumns)},
      {"session_by_request",
       absl::StrCat("SELECT ", kSessionColumns,
                    " FROM session.sessions WHERE user_id = $1 AND request_id = $2")},
      {"session_get",
       absl::StrCat("SELECT ", kSessionColumns, " FROM session.sessions WHERE session_id = $1")},
      {"session_list",
       absl::StrCat("SELECT ", kSessionColumns,
                    " FROM session.sessions WHERE user_id = $1 ORDER BY created_at, session_id "
                    "LIMIT $2")},
      {"session_list_after",
       absl::StrCat("SELECT ", kSessionColumns,
                    " FROM session.sessions WHERE user_id = $1 AND (created_at, session_id) > "
                    "(SELECT created_at, session_id FROM session.sessions WHERE session_id = $3) "
                    "ORDER BY created_at, session_id LIMIT $2")},
      {"session_counts",
       "SELECT count(*), count(l.presented_at), count(r.loop_id) FILTER (WHERE l.phase = 1), "
       "count(r.loop_id) FILTER (WHERE l.phase = 2), count(*) FILTER (WHERE r.liked), "
       "count(*) FILTER (WHERE NOT r.liked) FROM session.loops l "
       "LEFT JOIN session.ratings r ON r.loop_id = l.loop_id WHERE l.session_id = $1"},
      {"session_set_final",
       "UPDATE session.sessions SET final_critic_version = $2, updated_at = now() "
       "WHERE session_id = $1"},
      {"session_touch", "UPDATE session.sessions SET updated_at = now() WHERE session_id = $1"},
      {"loops_of_session",
       absl::StrCat(kLoopSelect, "WHERE l.session_id = $1 ORDER BY l.position")},
      {"loop_get", absl::StrCat(kLoopSelect, "WHERE l.loop_id = $1")},
      {"loop_lock",
       "SELECT presented_at IS NOT NULL FROM session.loops WHERE loop_id = $1 FOR UPDATE"},
      {"loop_insert",
       "INSERT INTO session.loops (session_id, position, phase, source, pattern, fingerprint, "
       "critic_version, score, steps_taken, capped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
       "$10) ON CONFLICT DO NOTHING RETURNING loop_id"},
      {"loop_first_unrated",
       "SELECT l.loop_id::text FROM session.loops l LEFT JOIN session.ratings r "
       "ON r.loop_id = l.loop_id WHERE l.session_id = $1 AND r.loop_id IS NULL "
       "ORDER BY l.position LIMIT 1 FOR UPDATE OF l"},
      {"loop_present",
       "UPDATE session.loops SET presented_at = now() WHERE loop_id = $1 AND presented_at IS NULL"},
      {"rating_by_request",
       "SELECT loop_id::text, extract(epoch from rated_at), liked FROM session.ratings "
       "WHERE session_id = $1 AND request_id = $2"},
      {"rating_of_loop",
       "SELECT request_id, extract(epoch from rated_at), liked FROM session.ratings "
       "WHERE loop_id = $1"},
      // Nothing inserted: a concurrent Rate of another loop of the session took the key first.
      {"rating_insert",
       "INSERT INTO session.ratings (loop_id, session_id, liked, request_id) "
       "VALUES ($1, $2, $3, $4) ON CONFLICT (session_id, request_id) DO NOTHING "
       "RETURNING extract(epoch from rated_at)"},
  };
}

absl::StatusOr<UserRecord> SessionRepository::CreateUser(const std::string& display_name,
                                                         const std::string& request_id) {
  UserRecord user;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    pqxx::result rows = tx.exec_prepared("user_insert", display_name, request_id);
    const bool retry = rows.empty();
    if (retry) rows = tx.exec_prepared("user_by_request", request_id);
    if (rows.empty()) return absl::AbortedError("user insert raced with a delete; retry");
    user = UserFromRow(rows[0]);
    // Keys are service-wide, so a key reused for another user (two apps counting from 1) must
    // not hand out the first one's user. The message names neither that user nor its name.
    if (retry && user.display_name != display_name) {
      return absl::InvalidArgumentError(absl::StrCat(
          "request_id ", request_id,
          " was already used to create a user with another display_name; a retry must send the "
          "same display_name, and a new user needs a new request_id"));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return user;
}

absl::StatusOr<UserRecord> SessionRepository::GetUser(const std::string& user_id) {
  if (absl::Status s = ValidateUuid(user_id, "user_id"); !s.ok()) return s;
  UserRecord user;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    pqxx::result rows = tx.exec_prepared("user_get", user_id);
    if (rows.empty()) return UserNotFound(user_id);
    user = UserFromRow(rows[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return user;
}

absl::StatusOr<std::vector<std::string>> SessionRepository::CriticIdsOfUser(
    const std::string& user_id) {
  if (absl::Status s = ValidateUuid(user_id, "user_id"); !s.ok()) return s;
  std::vector<std::string> ids;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    if (tx.exec_prepared("user_get", user_id).empty()) return UserNotFound(user_id);
    ids.clear();
    for (const auto& row : tx.exec_prepared("user_critics", user_id)) {
      ids.push_back(row[0].as<std::string>());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return ids;
}

absl::StatusOr<DeletedCounts> SessionRepository::DeleteUser(const std::string& user_id) {
  if (absl::Status s = ValidateUuid(user_id, "user_id"); !s.ok()) return s;
  DeletedCounts counts;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    if (tx.exec_prepared("user_get", user_id).empty()) return UserNotFound(user_id);
    pqxx::row row = tx.exec_prepared1("user_delete_counts", user_id);
    counts = {row[0].as<int>(), row[1].as<int>(), row[2].as<int>(), {}};
    for (const auto& critic : tx.exec_prepared("user_critics", user_id))
      counts.critic_ids.push_back(critic[0].as<std::string>());
    tx.exec_prepared0("user_delete", user_id);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return counts;
}

absl::StatusOr<std::pair<SessionRecord, bool>> SessionRepository::CreateSession(
    const SessionRecord& session, const std::string& request_id) {
  std::pair<SessionRecord, bool> result;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    if (tx.exec_prepared("user_get", session.user_id).empty()) return UserNotFound(session.user_id);
    pqxx::result rows = tx.exec_prepared("session_insert", session.user_id, request_id,
                                         Bytes(session.options), static_cast<int64_t>(session.seed),
                                         session.critic_id, session.phase1_total,
                                         session.phase2_per_critic, session.phase1_critic_lag);
    result.second = !rows.empty();
    if (rows.empty()) rows = tx.exec_prepared("session_by_request", session.user_id, request_id);
    if (rows.empty()) return absl::AbortedError("session insert raced with a delete; retry");
    result.first = SessionFromRow(rows[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::optional<SessionRecord>> SessionRepository::FindSessionByRequest(
    const std::string& user_id, const std::string& request_id) {
  std::optional<SessionRecord> session;
  if (request_id.empty()) return session;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    pqxx::result rows = tx.exec_prepared("session_by_request", user_id, request_id);
    if (!rows.empty()) session = SessionFromRow(rows[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return session;
}

absl::StatusOr<SessionRecord> SessionRepository::GetSession(const std::string& session_id) {
  if (absl::Status s = ValidateUuid(session_id, "session_id"); !s.ok()) return s;
  SessionRecord session;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    pqxx::result rows = tx.exec_prepared("session_get", session_id);
    if (rows.empty()) return SessionNotFound(session_id);
    session = SessionFromRow(rows[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return session;
}

absl::StatusOr<std::vector<SessionRecord>> SessionRepository::ListSessions(
    const std::string& user_id, const std::string& after_session_id, int limit) {
  if (absl::Status s = ValidateUuid(user_id, "user_id"); !s.ok()) return s;
  // The token is opaque to clients, so the error says where a valid one comes from, not its form.
  constexpr char kForeignToken[] =
      "page_token is not a next_page_token of this user's sessions; pass it unchanged";
  if (!after_session_id.empty() && !IsUuid(after_session_id)) {
    return absl::InvalidArgumentError(kForeignToken);
  }
  std::vector<SessionRecord> sessions;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    if (tx.exec_prepared("user_get", user_id).empty()) return UserNotFound(user_id);
    if (!after_session_id.empty()) {
      // A token from another listing (or of a session gone since) would silently end the pages.
      pqxx::result after = tx.exec_prepared("session_get", after_session_id);
      if (after.empty() || !absl::EqualsIgnoreCase(after[0][1].as<std::string>(), user_id)) {
        return absl::InvalidArgumentError(kForeignToken);
      }
    }
    pqxx::result rows = after_session_id.empty() ? tx.exec_prepared("session_list", user_id, limit)
                                                 : tx.exec_prepared("session_list_after", user_id,
                                                                    limit, after_session_id);
    sessions.clear();
    for (const auto& row : rows)
      sessions.push_back(SessionFromRow(row));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return sessions;
}

absl::StatusOr<SessionCounts> SessionRepository::Counts(const std::string& session_id) {
  SessionCounts counts;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    pqxx::row row = tx.exec_prepared1("session_counts", session_id);
    counts = {row[0].as<int>(), row[1].as<int>(), row[2].as<int>(),
              row[3].as<int>(), row[4].as<int>(), row[5].as<int>()};
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return counts;
}

absl::Status SessionRepository::SetFinalCriticVersion(const std::string& session_id,
                                                      uint64_t version) {
  return pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    tx.exec_prepared0("session_set_final", session_id, version);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<LoopRecord>> SessionRepository::Loops(const std::string& session_id) {
  std::vector<LoopRecord> loops;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    loops.clear();
    for (const auto& row : tx.exec_prepared("loops_of_session", session_id)) {
      loops.push_back(LoopFromRow(row));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return loops;
}

absl::StatusOr<LoopRecord> SessionRepository::GetLoop(const std::string& loop_id) {
  if (absl::Status s = ValidateUuid(loop_id, "loop_id"); !s.ok()) return s;
  LoopRecord loop;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    pqxx::result rows = tx.exec_prepared("loop_get", loop_id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("loop ", loop_id, " does not exist"));
    loop = LoopFromRow(rows[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return loop;
}

absl::StatusOr<bool> SessionRepository::InsertLoop(const std::string& session_id,
                                                   const NewLoop& loop) {
  bool inserted = false;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    inserted = !tx.exec_prepared("loop_insert", session_id, loop.position, loop.phase, loop.source,
                                 Bytes(loop.pattern), loop.fingerprint, loop.critic_version,
                                 loop.score, loop.steps_taken, loop.capped)
                    .empty();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return inserted;
}

absl::StatusOr<std::optional<LoopRecord>> SessionRepository::PresentNext(
    const std::string& session_id) {
  std::optional<LoopRecord> loop;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    loop.reset();
    pqxx::result rows = tx.exec_prepared("loop_first_unrated", session_id);
    if (rows.empty()) return absl::OkStatus();
    const std::string loop_id = rows[0][0].as<std::string>();
    tx.exec_prepared0("loop_present", loop_id);
    loop = LoopFromRow(tx.exec_prepared1("loop_get", loop_id));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return loop;
}

absl::StatusOr<RateOutcome> SessionRepository::Rate(const std::string& loop_id, bool liked,
                                                    const std::string& request_id,
                                                    const std::string& user_id) {
  if (absl::Status s = ValidateUuid(loop_id, "loop_id"); !s.ok()) return s;
  if (!user_id.empty()) {
    if (absl::Status s = ValidateUuid(user_id, "user_id"); !s.ok()) return s;
  }
  if (request_id.empty()) return absl::InvalidArgumentError("request_id is required");
  RateOutcome outcome;
  absl::Status status = pool_.Transact([&](pqxx::work& tx) -> absl::Status {
    outcome = RateOutcome{};
    pqxx::result rows = tx.exec_prepared("loop_get", loop_id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("loop ", loop_id, " does not exist"));
    const LoopRecord loop = LoopFromRow(rows[0]);
    outcome.session_id = loop.session_id;
    if (!user_id.empty() && !absl::EqualsIgnoreCase(user_id, loop.user_id)) {
      return absl::PermissionDeniedError(
          absl::StrCat("loop ", loop_id, " belongs to another user's session"));
    }
    // Request ids are unique within a session (where a retry repeats one), not across sessions.
    const auto reused_for_another_loop = [&] {
      return absl::InvalidArgumentError(absl::StrCat(
          "request_id ", request_id, " was already used to rate another loop of this session"));
    };
    pqxx::result earlier = tx.exec_prepared("rating_by_request", loop.session_id, request_id);
    if (!earlier.empty()) {
      if (!absl::EqualsIgnoreCase(earlier[0][0].as<std::string>(), loop_id)) {
        return reused_for_another_loop();
      }
      if (absl::Status s = SameRatingAsStored(earlier[0][2], liked, request_id); !s.ok()) return s;
      outcome.duplicate = true;
      outcome.rated_at = TimeFromEpoch(earlier[0][1]);
      return absl::OkStatus();
    }
    // Serialises concurrent ratings of this loop; what follows sees any that committed first.
    pqxx::row presented = tx.exec_prepared1("loop_lock", loop_id);
    if (!presented[0].as<bool>()) {
      return absl::FailedPreconditionError(
          absl::StrCat("loop ", loop_id, " has not been presented yet; call NextLoop"));
    }
    pqxx::result existing = tx.exec_prepared("rating_of_loop", loop_id);
    if (!existing.empty()) {
      if (existing[0][0].as<std::string>() == request_id) {  // A concurrent retry won.
        if (absl::Status s = SameRatingAsStored(existing[0][2], liked, request_id); !s.ok()) {
          return s;
        }
        outcome.duplicate = true;
        outcome.rated_at = TimeFromEpoch(existing[0][1]);
        return absl::OkStatus();
      }
      return absl::AlreadyExistsError(
          absl::StrCat("loop ", loop_id, " was already rated under another request_id"));
    }
    pqxx::result inserted =
        tx.exec_prepared("rating_insert", loop_id, loop.session_id, liked, request_id);
    if (inserted.empty()) return reused_for_another_loop();
    outcome.rated_at = TimeFromEpoch(inserted[0][0]);
    tx.exec_prepared0("session_touch", loop.session_id);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return outcome;
}

}  // namespace dd::storage
