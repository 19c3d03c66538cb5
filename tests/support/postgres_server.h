// A real PostgreSQL server for tests: initdb into a temporary folder and a server listening only
// on a unix socket inside it, so tests never collide on ports. Runs as the `postgres` user when
// the tests run as root (PostgreSQL refuses root).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace dd::testing {

class PostgresServer {
 public:
  // Starts a server; on failure returns nullptr and sets *error.
  static std::unique_ptr<PostgresServer> Start(std::string* error);
  ~PostgresServer();

  // A fresh empty database on this server; returns its libpq connection string.
  std::string CreateDatabase(const std::string& name);
  std::string ConnectionString(const std::string& database) const;
  // What README's backup advice does: `pg_dump -Fc` of `source` restored with
  // `pg_restore --no-owner` into a new database `target`; returns its connection string. Throws
  // when either tool fails.
  std::string DumpAndRestore(const std::string& source, const std::string& target);

 private:
  PostgresServer() = default;
  std::filesystem::path dir_;
  std::string bin_;
};

// One server per test binary, started on first use; fails the calling test if it cannot start.
PostgresServer& SharedPostgres();

}  // namespace dd::testing
