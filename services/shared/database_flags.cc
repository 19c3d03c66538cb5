#include "services/shared/database_flags.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/storage/migrations.h"

ABSL_FLAG(std::string, database, "",
          "libpq connection string, e.g. \"host=127.0.0.1 port=55432 dbname=deepdrummer "
          "user=deepdrummer\". Empty: the standard PG* environment variables (PGHOST, PGPORT, "
          "PGDATABASE, PGUSER, PGPASSWORD).");
ABSL_FLAG(int, db_pool_size, 8, "PostgreSQL connections this process holds at most.");
ABSL_FLAG(
    int, db_max_attempts, 4,
    "Tries of a transaction that fails transiently (lost connection, serialization failure).");
ABSL_FLAG(absl::Duration, db_connect_timeout, absl::Seconds(10),
          "How long opening a database connection may take (0: libpq's default, no limit). "
          "A connect_timeout in --database or PGCONNECT_TIMEOUT wins.");
ABSL_FLAG(absl::Duration, db_dead_server_timeout, absl::Seconds(60),
          "A database connection whose server answers nothing for this long (TCP keepalive "
          "probes, unacknowledged data) is closed, so requests fail over instead of hanging. "
          "Whole seconds >= 6, or 0 for libpq's defaults (about two hours). Keepalive settings "
          "in --database win.");
ABSL_FLAG(absl::Duration, db_statement_timeout, absl::Seconds(30),
          "A database statement that runs longer fails (DEADLINE_EXCEEDED) instead of holding "
          "its connection and request; 0: no limit. Migrations are not bounded.");
ABSL_FLAG(absl::Duration, db_lock_timeout, absl::Seconds(5),
          "A database statement that waits longer for a lock (a session left open elsewhere) "
          "fails and its transaction is retried (ABORTED once --db_max_attempts are spent); 0: "
          "no limit. Migrations are not bounded.");
ABSL_FLAG(bool, migrate_only, false, "Apply pending schema migrations, then exit (deploy jobs).");

namespace dd {

absl::StatusOr<std::unique_ptr<storage::PgPool>> OpenDatabaseFromFlags(
    storage::PreparedStatements statements, metrics::Registry* metrics) {
  storage::PgPoolOptions options;
  options.connection_string = absl::GetFlag(FLAGS_database);
  options.size = absl::GetFlag(FLAGS_db_pool_size);
  options.max_attempts = absl::GetFlag(FLAGS_db_max_attempts);
  options.connect_timeout = absl::GetFlag(FLAGS_db_connect_timeout);
  options.dead_server_timeout = absl::GetFlag(FLAGS_db_dead_server_timeout);
  options.statement_timeout = absl::GetFlag(FLAGS_db_statement_timeout);
  options.lock_timeout = absl::GetFlag(FLAGS_db_lock_timeout);
  // Migrations first, on a pool without prepared statements: those may name tables that the
  // migrations are about to create.
  {
    auto bootstrap_options = options;
    bootstrap_options.size = 1;
    auto bootstrap = storage::PgPool::Create(bootstrap_options, {});
    if (!bootstrap.ok()) return bootstrap.status();
    auto applied = storage::ApplyMigrations(**bootstrap);
    if (!applied.ok()) return applied.status();
    log::Info("db.ready", {{"migrations_applied", static_cast<int>(applied->size())},
                           {"names", absl::StrJoin(*applied, ",")}});
  }
  return storage::PgPool::Create(options, std::move(statements), metrics);
}

bool MigrateOnly() {
  return absl::GetFlag(FLAGS_migrate_only);
}

}  // namespace dd
