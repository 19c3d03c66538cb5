#include "common/storage/migrations.h"

#include <set>

#include <pqxx/result>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace dd::storage {
namespace {

// pg_advisory_xact_lock key: "dd-migr" in ASCII, fixed so every replica takes the same lock.
constexpr int64_t kMigrationLockKey = 0x64642d6d696772;

}  // namespace

absl::StatusOr<std::vector<std::string>> ApplyMigrations(PgPool& pool) {
  std::vector<std::string> applied;
  absl::Status status = pool.Transact([&](pqxx::work& tx) -> absl::Status {
    applied.clear();
    // A migration may rewrite a large table, and a replica starting meanwhile waits here for the
    // first one's lock: neither is bounded by the pool's timeouts (SET LOCAL ends with this
    // transaction).
    tx.exec0("SET LOCAL statement_timeout = 0");
    tx.exec0("SET LOCAL lock_timeout = 0");
    tx.exec(absl::StrCat("SELECT pg_advisory_xact_lock(", kMigrationLockKey, ")"));
    // The bookkeeping table of the migration runner itself; everything else is in migrations.
    tx.exec0(
        "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    std::set<std::string> done;
    for (const auto& row : tx.exec("SELECT name FROM public.schema_migrations")) {
      done.insert(row[0].as<std::string>());
    }
    std::set<std::string> known;
    for (const Migration& migration : AllMigrations())
      known.insert(migration.name);
    for (const std::string& name : done) {
      if (!known.count(name)) {
        return absl::FailedPreconditionError(
            absl::StrCat("database has migration ", name,
                         " that this binary does not know; deploy a newer build"));
      }
    }
    for (const Migration& migration : AllMigrations()) {
      if (done.count(migration.name)) continue;
      tx.exec0(migration.sql);
      tx.exec_params0("INSERT INTO public.schema_migrations (name) VALUES ($1)", migration.name);
      applied.push_back(migration.name);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  for (const std::string& name : applied)
    log::Info("db.migrated", {{"migration", name}});
  return applied;
}

}  // namespace dd::storage
