// A fixed-size pool of PostgreSQL connections with prepared statements, and transactions retried
// on transient failures. Repositories own the SQL; services never see a connection.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/connection>
#include <pqxx/transaction>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dd::storage {

struct PgPoolOptions {
  // libpq connection string, e.g. "host=127.0.0.1 port=55432 dbname=deepdrummer user=deepdrummer".
  // Empty: libpq's defaults and the standard PG* environment variables (PGHOST, PGPORT...).
  std::string connection_string;
  int size = 8;                                        // Connections held open.
  absl::Duration acquire_timeout = absl::Seconds(10);  // Wait for a free connection.
  int max_attempts = 4;  // Tries of a transaction that fails transiently (lost connection,
                         // serialization failure, deadlock).
  absl::Duration retry_backoff = absl::Milliseconds(20);  // Doubled after each failed try.
};

// (name, SQL) pairs prepared on every connection of the pool.
using PreparedStatements = std::vector<std::pair<std::string, std::string>>;

class PgPool {
 public:
  // Connects `size` connections and prepares `statements` on each. UNAVAILABLE when the database
  // cannot be reached.
  static absl::StatusOr<std::unique_ptr<PgPool>> Create(const PgPoolOptions& options,
                                                        PreparedStatements statements);
  ~PgPool();

  // Runs `body` in a transaction at `isolation` and commits it; on a transient failure rolls
  // back and runs it again (up to max_attempts), reconnecting a broken connection. `body` must
  // therefore be safe to repeat: all its effects go through the transaction. A non-OK status
  // returned by `body` rolls back and is returned as is.
  absl::Status Transact(const std::function<absl::Status(pqxx::work&)>& body);
  absl::Status TransactSerializable(
      const std::function<absl::Status(pqxx::transaction<pqxx::serializable>&)>& body);

  // Runs `body` on one connection outside any transaction (e.g. migrations with their own).
  absl::Status WithConnection(const std::function<absl::Status(pqxx::connection&)>& body);

  const PgPoolOptions& options() const { return options_; }

 private:
  PgPool(PgPoolOptions options, PreparedStatements statements)
      : options_(std::move(options)), statements_(std::move(statements)) {}
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect() const;
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Acquire();
  void Release(std::unique_ptr<pqxx::connection> connection);
  template <typename Transaction>
  absl::Status Retrying(const std::function<absl::Status(Transaction&)>& body);

  PgPoolOptions options_;
  PreparedStatements statements_;
  absl::Mutex mutex_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mutex_);
  int open_ ABSL_GUARDED_BY(mutex_) = 0;  // Connections handed out or idle.
};

}  // namespace dd::storage
