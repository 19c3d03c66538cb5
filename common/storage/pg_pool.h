// A fixed-size pool of PostgreSQL connections with prepared statements, and transactions retried
// on transient failures. Repositories own the SQL; services never see a connection.
#pragma once

#include <atomic>
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
#include "common/metrics/registry.h"

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
  // Bounds on a server that cannot be reached or has gone silent, applied unless the connection
  // string (or PGCONNECT_TIMEOUT) sets them: libpq's own defaults wait for ever to connect and
  // about two hours to notice a server gone from the network (a failed-over database's old
  // address, a partition), while every request holding a connection hangs. Zero keeps libpq's.
  absl::Duration connect_timeout = absl::Seconds(10);
  // A TCP connection whose server answers nothing for this long is closed: keepalive probes
  // from half of it on (3, a sixth apart), and tcp_user_timeout for data sent but not
  // acknowledged. Whole seconds, at least 6.
  absl::Duration dead_server_timeout = absl::Seconds(60);
  // Server-side bounds set on every connection (PostgreSQL's statement_timeout and
  // lock_timeout): a statement that runs longer fails with DEADLINE_EXCEEDED, a wait for a lock
  // with ABORTED (retried like a deadlock), instead of holding a pooled connection, and the
  // request on it, without end behind a session left open in psql or a long migration elsewhere.
  // Zero: none (PostgreSQL's default). Migrations lift both for their own transaction.
  absl::Duration statement_timeout = absl::Seconds(30);
  absl::Duration lock_timeout = absl::Seconds(5);
};

// (name, SQL) pairs prepared on every connection of the pool.
using PreparedStatements = std::vector<std::pair<std::string, std::string>>;

class PgPool {
 public:
  // Connects `size` connections and prepares `statements` on each. UNAVAILABLE when the database
  // cannot be reached. `metrics` (optional, not owned): where the pool counts its connections
  // (open, idle), transactions retried, waits for a connection that timed out, and flushes.
  static absl::StatusOr<std::unique_ptr<PgPool>> Create(const PgPoolOptions& options,
                                                        PreparedStatements statements,
                                                        metrics::Registry* metrics = nullptr);
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
  // What the pool connects with: options().connection_string with the timeouts above added.
  const std::string& effective_connection_string() const { return effective_connection_string_; }

 private:
  struct Metrics {
    metrics::Gauge* open = nullptr;
    metrics::Gauge* idle = nullptr;
    metrics::Counter* retries = nullptr;
    metrics::Counter* acquire_timeouts = nullptr;
    metrics::Counter* flushes = nullptr;
    metrics::Counter* resource_errors = nullptr;
  };
  static absl::StatusOr<Metrics> AddMetrics(metrics::Registry& registry);

  PgPool(PgPoolOptions options, std::string effective_connection_string,
         PreparedStatements statements, std::unique_ptr<metrics::Registry> own_metrics,
         Metrics metrics)
      : options_(std::move(options)),
        effective_connection_string_(std::move(effective_connection_string)),
        statements_(std::move(statements)),
        own_metrics_(std::move(own_metrics)),
        metrics_(metrics) {}
  void PublishCounts() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // StatusFromCurrentException, counting and logging what an operator must act on.
  absl::Status DatabaseFailure(const char* what_was_done);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect() const;
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Acquire();
  void Release(std::unique_ptr<pqxx::connection> connection);
  template <typename Transaction>
  absl::Status Retrying(const std::function<absl::Status(Transaction&)>& body);

  PgPoolOptions options_;
  std::string effective_connection_string_;
  PreparedStatements statements_;
  const std::unique_ptr<metrics::Registry> own_metrics_;  // When the caller gave none.
  const Metrics metrics_;
  std::atomic<int64_t> last_resource_error_logged_{0};  // Unix second of the last such line.
  absl::Mutex mutex_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mutex_);
  int open_ ABSL_GUARDED_BY(mutex_) = 0;  // Connections handed out or idle.
};

}  // namespace dd::storage
