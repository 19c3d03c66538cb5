// How PostgreSQL failures become statuses, in one place. Transient failures (a lost connection,
// a serialization failure, a deadlock, a lock not free within lock_timeout) are UNAVAILABLE or
// ABORTED so that callers and clients know a retry may succeed; a statement past
// statement_timeout is DEADLINE_EXCEEDED; a database short of disk space or memory is
// RESOURCE_EXHAUSTED, not retried (another attempt would fail the same way until space is freed).
#pragma once

#include <exception>

#include "absl/status/status.h"

namespace dd::storage {

// Call from inside a catch block; classifies the in-flight exception.
absl::Status StatusFromCurrentException(const char* what_was_done);

// Whether a status produced above is worth retrying with a fresh transaction.
bool IsTransient(const absl::Status& status);

}  // namespace dd::storage
