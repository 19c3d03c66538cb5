// Database flags shared by the services that use PostgreSQL: where it is, the pool size, and the
// migrate-only mode for deploy jobs.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "common/storage/pg_pool.h"

namespace dd {

// Connects a pool as the flags say and applies pending migrations (under the advisory lock).
// `metrics` (optional, not owned): where the pool counts its connections and retries.
absl::StatusOr<std::unique_ptr<storage::PgPool>> OpenDatabaseFromFlags(
    storage::PreparedStatements statements, metrics::Registry* metrics = nullptr);

// True when --migrate_only was given: main() should exit after OpenDatabaseFromFlags.
bool MigrateOnly();

}  // namespace dd
