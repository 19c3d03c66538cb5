// Versioned schema migrations, kept as SQL files in common/storage/migrations and compiled into
// the binaries. Applied at start-up in one transaction under an advisory lock, so replicas that
// start together apply each migration exactly once; recorded in public.schema_migrations.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/pg_pool.h"

namespace dd::storage {

struct Migration {
  std::string name;  // File name without .sql, e.g. "0001_critic"; applied in name order.
  std::string sql;
};

const std::vector<Migration>& AllMigrations();

// Applies the migrations not yet recorded; returns their names. Fails with FAILED_PRECONDITION
// when the database has a migration this binary does not know (it is older than the schema).
absl::StatusOr<std::vector<std::string>> ApplyMigrations(PgPool& pool);

}  // namespace dd::storage
