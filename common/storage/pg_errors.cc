#include "common/storage/pg_errors.h"

#include <pqxx/except>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace dd::storage {
namespace {

// libpq ends its messages with a newline, which a log line or a status would carry on.
absl::string_view Message(const std::exception& e) {
  return absl::StripTrailingAsciiWhitespace(e.what());
}

}  // namespace

absl::Status StatusFromCurrentException(const char* what_was_done) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat(what_was_done, ": no connection to the database: ", Message(e)));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(
        absl::StrCat(what_was_done, ": commit outcome unknown: ", Message(e)));
  } catch (const pqxx::serialization_failure& e) {
    return absl::AbortedError(absl::StrCat(what_was_done, ": serialization failure: ", Message(e)));
  } catch (const pqxx::deadlock_detected& e) {
    return absl::AbortedError(absl::StrCat(what_was_done, ": deadlock: ", Message(e)));
  } catch (const pqxx::unique_violation& e) {
    return absl::AlreadyExistsError(absl::StrCat(what_was_done, ": ", Message(e)));
  } catch (const pqxx::foreign_key_violation& e) {
    return absl::NotFoundError(absl::StrCat(what_was_done, ": ", Message(e)));
  } catch (const pqxx::data_exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what_was_done, ": ", Message(e)));
  } catch (const pqxx::insufficient_resources& e) {
    // SQLSTATE class 53: disk full, out of memory, a configured limit such as temp_file_limit.
    // The transaction rolled back whole; a retry succeeds only once an operator frees space.
    return absl::ResourceExhaustedError(absl::StrCat(
        what_was_done,
        ": the database is out of disk space, memory or a configured limit: ", Message(e)));
  } catch (const pqxx::sql_error& e) {
    // The pool's statement_timeout and lock_timeout (libpqxx 6 has no classes for them).
    if (e.sqlstate() == "57014") {
      return absl::DeadlineExceededError(
          absl::StrCat(what_was_done, ": the statement ran past its time limit: ", Message(e)));
    }
    // A standby, or a primary demoted by a failover: this connection will not take writes
    // again, a new one may reach the new primary (UNAVAILABLE drops it and retries).
    if (e.sqlstate() == "25006") {
      return absl::UnavailableError(absl::StrCat(
          what_was_done, ": the database is read-only (a standby, or failing over): ", Message(e)));
    }
    if (e.sqlstate() == "55P03") {
      return absl::AbortedError(
          absl::StrCat(what_was_done, ": a lock was not free in time: ", Message(e)));
    }
    return absl::InternalError(absl::StrCat(what_was_done, ": ", Message(e)));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what_was_done, ": ", Message(e)));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what_was_done, ": unknown error"));
  }
}

bool IsTransient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsAborted(status);
}

}  // namespace dd::storage
