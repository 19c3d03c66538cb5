// Migrations and the critic repository against a real PostgreSQL started by the test.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/critic/critic.h"
#include "common/storage/connection_string.h"
#include "common/storage/critic_repository.h"
#include "common/storage/migrations.h"
#include "common/storage/pg_pool.h"
#include "common/storage/session_repository.h"
#include "tests/support/postgres_server.h"

namespace dd::storage {
namespace {

std::unique_ptr<PgPool> MustPool(const std::string& connection,
                                 PreparedStatements statements = {}) {
  PgPoolOptions options;
  options.connection_string = connection;
  options.size = 4;
  auto pool = PgPool::Create(options, std::move(statements));
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *std::move(pool) : nullptr;
}

int Count(PgPool& pool, const std::string& sql) {
  int count = -1;
  EXPECT_TRUE(pool.Transact([&](pqxx::work& tx) {
                    count = tx.exec1(sql)[0].as<int>();
                    return absl::OkStatus();
                  })
                  .ok());
  return count;
}

TEST(MigrationsTest, ConcurrentStartersApplyEachMigrationOnce) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("migrations_concurrent");
  std::vector<std::thread> starters;
  std::atomic<int> applied_total{0}, failures{0};
  for (int i = 0; i < 4; ++i) {
    starters.emplace_back([&] {
      auto pool = MustPool(db);
      if (!pool) return ++failures, void();
      auto applied = ApplyMigrations(*pool);
      if (!applied.ok()) return ++failures, void();
      applied_total += static_cast<int>(applied->size());
    });
  }
  for (auto& t : starters)
    t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(applied_total, static_cast<int>(AllMigrations().size()));
  auto pool = MustPool(db);
  EXPECT_EQ(Count(*pool, "SELECT count(*) FROM public.schema_migrations"),
            static_cast<int>(AllMigrations().size()));
  auto again = ApplyMigrations(*pool);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->empty());
}

TEST(MigrationsTest, RefusesADatabaseNewerThanTheBinary) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("migrations_newer");
  auto pool = MustPool(db);
  ASSERT_TRUE(ApplyMigrations(*pool).ok());
  ASSERT_TRUE(pool->Transact([](pqxx::work& tx) {
                    tx.exec0("INSERT INTO public.schema_migrations (name) VALUES ('9999_future')");
                    return absl::OkStatus();
                  })
                  .ok());
  auto applied = ApplyMigrations(*pool);
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kFailedPrecondition) << applied.status();
}

// While another starter holds the migration lock (pg_advisory_xact_lock on "dd-migr" in ASCII)
// longer than the pool's statement and lock timeouts, a replica starting waits for it instead of
// failing: migrations lift both timeouts for their own transaction.
TEST(MigrationsTest, WaitForAnotherStarterBeyondThePoolsTimeouts) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("migrations_lock_wait");
  pqxx::connection holder(db);
  pqxx::work hold(holder);
  hold.exec("SELECT pg_advisory_xact_lock(x'64642d6d696772'::bigint)");
  PgPoolOptions options;
  options.connection_string = db;
  options.statement_timeout = absl::Milliseconds(100);
  options.lock_timeout = absl::Milliseconds(100);
  auto pool = PgPool::Create(options, {});
  ASSERT_TRUE(pool.ok()) << pool.status();
  std::thread release([&hold] {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    hold.commit();
  });
  auto applied = ApplyMigrations(**pool);
  release.join();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_FALSE(applied->empty());
}

TEST(PgPoolTest, AStatementPastTheStatementTimeoutFailsAndThePoolGoesOn) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("pool_statement_timeout");
  PgPoolOptions options;
  options.connection_string = db;
  options.size = 1;
  options.statement_timeout = absl::Milliseconds(200);
  auto pool = PgPool::Create(options, {});
  ASSERT_TRUE(pool.ok()) << pool.status();
  int attempts = 0;
  const absl::Status status = (*pool)->Transact([&](pqxx::work& tx) {
    ++attempts;
    tx.exec("SELECT pg_sleep(30)");
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "the statement ran past its time limit"))
      << status;
  EXPECT_EQ(attempts, 1);  // Not a transient failure: running it again would time out again.
  // The same connection serves the next transaction, still bounded.
  std::string bound;
  ASSERT_TRUE((*pool)
                  ->Transact([&](pqxx::work& tx) {
                    bound = tx.exec1("SHOW statement_timeout")[0].as<std::string>();
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(bound, "200ms");
}

TEST(PgPoolTest, AWaitForALockPastTheLockTimeoutIsRetriedThenAborted) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("pool_lock_timeout");
  pqxx::connection holder(db);
  {
    pqxx::work setup(holder);
    setup.exec0("CREATE TABLE held (id int)");
    setup.commit();
  }
  auto hold = std::make_unique<pqxx::work>(holder);
  hold->exec0("LOCK TABLE held IN ACCESS EXCLUSIVE MODE");  // As a psql session left open would.
  PgPoolOptions options;
  options.connection_string = db;
  options.lock_timeout = absl::Milliseconds(200);
  options.max_attempts = 2;
  metrics::Registry metrics;
  auto pool = PgPool::Create(options, {}, &metrics);
  ASSERT_TRUE(pool.ok()) << pool.status();
  const auto count = [&] {
    return (*pool)->Transact([](pqxx::work& tx) {
      tx.exec1("SELECT count(*) FROM held");
      return absl::OkStatus();
    });
  };
  const absl::Status status = count();
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "a lock was not free in time")) << status;
  EXPECT_TRUE(absl::StrContains(metrics.Exposition(), "db_transaction_retries_total 1\n"))
      << metrics.Exposition();
  hold->commit();
  EXPECT_TRUE(count().ok());
}

// A write to a read-only server (a standby, or a primary demoted in a failover) was INTERNAL, an
// error logged as a bug and never retried; it is UNAVAILABLE, retried on a new connection.
TEST(PgPoolTest, AWriteToAReadOnlyDatabaseIsUnavailableAndRetriedOnANewConnection) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("pool_read_only");
  auto writable = MustPool(db);
  ASSERT_TRUE(writable
                  ->Transact([](pqxx::work& tx) {
                    tx.exec0("CREATE TABLE notes (text text)");
                    return absl::OkStatus();
                  })
                  .ok());
  PgPoolOptions options;
  options.connection_string = db + " options='-c default_transaction_read_only=on'";
  options.max_attempts = 2;
  options.retry_backoff = absl::Milliseconds(1);
  metrics::Registry metrics;
  auto pool = PgPool::Create(options, {}, &metrics);
  ASSERT_TRUE(pool.ok()) << pool.status();
  int attempts = 0;
  const absl::Status status = (*pool)->Transact([&](pqxx::work& tx) {
    ++attempts;
    tx.exec0("INSERT INTO notes VALUES ('x')");
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "the database is read-only")) << status;
  EXPECT_EQ(attempts, 2);
  EXPECT_TRUE(absl::StrContains(metrics.Exposition(), "db_transaction_retries_total 1\n"))
      << metrics.Exposition();
}

TEST(PgPoolTest, ADatabaseOutOfAResourceIsResourceExhaustedCountedAndNotRetried) {
  // A full disk cannot be made in a test without mounting one; temp_file_limit makes
  // PostgreSQL refuse a spilling sort with an error of the same class (53, insufficient
  // resources), which is what a full disk answers ("could not extend file", 53100).
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("pool_out_of_resources");
  PgPoolOptions options;
  options.connection_string = db;
  options.max_attempts = 3;
  options.retry_backoff = absl::Milliseconds(1);
  metrics::Registry metrics;
  auto pool = PgPool::Create(options, {}, &metrics);
  ASSERT_TRUE(pool.ok()) << pool.status();
  int attempts = 0;
  const absl::Status status = (*pool)->Transact([&](pqxx::work& tx) {
    ++attempts;
    tx.exec0("SET LOCAL work_mem = '64kB'");
    tx.exec0("SET LOCAL temp_file_limit = '128kB'");
    tx.exec1(
        "SELECT count(*) FROM (SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC "
        "OFFSET 0) sorted");
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "the database is out of disk space, memory"))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "temp_file_limit")) << status;
  EXPECT_EQ(attempts, 1);  // Another attempt would be refused the same way.
  const std::string exposition = metrics.Exposition();
  EXPECT_TRUE(absl::StrContains(exposition, "db_resource_errors_total 1\n")) << exposition;
  EXPECT_TRUE(absl::StrContains(exposition, "db_transaction_retries_total 0\n")) << exposition;
  // The connection was not at fault and serves on.
  EXPECT_EQ(Count(**pool, "SELECT 1"), 1);
  EXPECT_TRUE(absl::StrContains(metrics.Exposition(), "db_pool_connections{state=\"open\"} 1\n"))
      << metrics.Exposition();
}

TEST(PgPoolTest, UnreachableDatabaseIsUnavailable) {
  PgPoolOptions options;
  options.connection_string =
      "host=/nonexistent-dd-socket-dir port=1 user=x dbname=x connect_timeout=2";
  auto pool = PgPool::Create(options, {});
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable) << pool.status();
  // Never connected, so not "connection lost"; and without libpq's closing newline.
  const std::string message(pool.status().message());
  EXPECT_EQ(message.rfind("connecting to PostgreSQL: no connection to the database: ", 0), 0u)
      << message;
  EXPECT_NE(message.back(), '\n') << message;
}

// Every connection of the pool dies at once when PostgreSQL restarts or fails over. The next
// transaction must reconnect and succeed, however many dead connections sit idle in the pool
// (more of them than the transaction has attempts).
TEST(PgPoolTest, RecoversWhenEveryConnectionWasTerminated) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("pool_terminated");
  PgPoolOptions options;
  options.connection_string = db;
  options.size = 6;
  options.max_attempts = 2;
  metrics::Registry metrics;
  auto created = PgPool::Create(options, {{"pool_one", "SELECT 1"}}, &metrics);
  ASSERT_TRUE(created.ok()) << created.status();
  PgPool& pool = **created;
  // Open every connection of the pool: each level holds its own while the next opens one.
  std::function<absl::Status(int)> nest = [&](int depth) -> absl::Status {
    if (depth == options.size) return absl::OkStatus();
    return pool.Transact([&](pqxx::work& tx) {
      tx.exec_prepared1("pool_one");
      return nest(depth + 1);
    });
  };
  ASSERT_TRUE(nest(0).ok());
  EXPECT_TRUE(absl::StrContains(metrics.Exposition(), "db_pool_connections{state=\"open\"} 6\n"))
      << metrics.Exposition();
  EXPECT_TRUE(absl::StrContains(metrics.Exposition(), "db_pool_connections{state=\"idle\"} 6\n"));

  auto admin = MustPool(db);
  ASSERT_TRUE(admin
                  ->Transact([](pqxx::work& tx) {
                    const pqxx::result killed = tx.exec(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()");
                    EXPECT_GE(killed.size(), 6u);
                    return absl::OkStatus();
                  })
                  .ok());

  int answer = 0;
  const absl::Status status = pool.Transact([&](pqxx::work& tx) {
    answer = tx.exec_prepared1("pool_one")[0].as<int>();
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(answer, 1);
  EXPECT_TRUE(nest(0).ok()) << "every connection usable again";
  // The operator sees what happened: one flush, one transaction tried again.
  const std::string exposition = metrics.Exposition();
  EXPECT_TRUE(absl::StrContains(exposition, "db_pool_flushes_total 1\n")) << exposition;
  EXPECT_TRUE(absl::StrContains(exposition, "db_transaction_retries_total 1\n")) << exposition;
  EXPECT_TRUE(absl::StrContains(exposition, "db_pool_acquire_timeouts_total 0\n")) << exposition;
}

TEST(ConnectionStringTest, AddsOnlyTheSettingsTheStringLeavesUnset) {
  const ConnectionSettings defaults = {{"connect_timeout", "10"}, {"keepalives_idle", "30"}};
  EXPECT_EQ(*WithConnectionDefaults("host=/run/pg dbname=dd", defaults),
            "host=/run/pg dbname=dd connect_timeout=10 keepalives_idle=30");
  EXPECT_EQ(*WithConnectionDefaults("host=db connect_timeout = 3", defaults),
            "host=db connect_timeout = 3 keepalives_idle=30");
  EXPECT_EQ(*WithConnectionDefaults("", defaults), "connect_timeout=10 keepalives_idle=30");
  EXPECT_EQ(*WithConnectionDefaults("postgresql://db:5432/dd", defaults),
            "postgresql://db:5432/dd?connect_timeout=10&keepalives_idle=30");
  EXPECT_EQ(*WithConnectionDefaults("postgres://db/dd?keepalives_idle=5", defaults),
            "postgres://db/dd?keepalives_idle=5&connect_timeout=10");
}

TEST(ConnectionStringTest, TheEnvironmentVariableOfASettingWins) {
  ASSERT_EQ(std::getenv("PGCONNECT_TIMEOUT"), nullptr);
  ::setenv("PGCONNECT_TIMEOUT", "4", 1);
  auto with_environment = WithConnectionDefaults("host=db", {{"connect_timeout", "10"}});
  ::unsetenv("PGCONNECT_TIMEOUT");
  EXPECT_EQ(*with_environment, "host=db");
}

TEST(ConnectionStringTest, BadStringsAndSettingsAreInvalidArguments) {
  auto unterminated = WithConnectionDefaults("host='db", {});
  EXPECT_EQ(unterminated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(unterminated.status().message(), "does not parse"))
      << unterminated.status();
  auto unknown_key = WithConnectionDefaults("hots=db", {});
  EXPECT_EQ(unknown_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(unknown_key.status().message(), "hots")) << unknown_key.status();
  EXPECT_EQ(WithConnectionDefaults("host=db", {{"conect_timeout", "1"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WithConnectionDefaults("host=db", {{"application_name", "a b"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PgPoolTest, BoundsAnUnreachableOrSilentServerUnlessTheStringDoes) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("pool_timeouts");
  auto pool = MustPool(db);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->effective_connection_string(),
            db + " connect_timeout=10 keepalives=1 keepalives_idle=30 keepalives_interval=10 "
                 "keepalives_count=3 tcp_user_timeout=60000");
  EXPECT_EQ(Count(*pool, "SELECT 1"), 1);

  PgPoolOptions options;
  options.connection_string = db + " connect_timeout=2 keepalives=0";
  options.connect_timeout = absl::Milliseconds(2500);
  options.dead_server_timeout = absl::ZeroDuration();
  auto explicit_pool = PgPool::Create(options, {});
  ASSERT_TRUE(explicit_pool.ok()) << explicit_pool.status();
  EXPECT_EQ((*explicit_pool)->effective_connection_string(), options.connection_string);
  options.connection_string = db;
  explicit_pool = PgPool::Create(options, {});
  ASSERT_TRUE(explicit_pool.ok()) << explicit_pool.status();
  EXPECT_EQ((*explicit_pool)->effective_connection_string(), db + " connect_timeout=3");

  for (absl::Duration bad : {absl::Seconds(5), absl::Milliseconds(6500), -absl::Seconds(60)}) {
    options.dead_server_timeout = bad;
    auto refused = PgPool::Create(options, {});
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StrContains(refused.status().message(), "dead_server_timeout"))
        << refused.status();
  }
  options.dead_server_timeout = absl::ZeroDuration();
  options.connection_string = "host='" + db;
  EXPECT_EQ(PgPool::Create(options, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

// A server that accepts TCP connections and never answers (a hung host, or a stale address
// behind a load balancer): without connect_timeout libpq would wait for it for ever.
TEST(PgPoolTest, ASilentServerIsUnavailableNotAHang) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(listener, 4), 0);  // The kernel completes handshakes; nobody reads.
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);

  PgPoolOptions options;
  options.connection_string =
      absl::StrCat("host=127.0.0.1 port=", ntohs(address.sin_port), " user=nobody dbname=nothing");
  options.connect_timeout = absl::Seconds(2);
  auto pool = PgPool::Create(options, {});
  ::close(listener);
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable) << pool.status();
  EXPECT_TRUE(absl::StrContains(pool.status().message(), "timeout")) << pool.status();
}

TEST(PgPoolTest, ConnectsWithAUriConnectionString) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("pool_uri");
  // The same settings as the test server's key=value string, as URI query parameters.
  std::string uri = "postgresql:///";
  const char* separator = "?";
  for (const absl::string_view setting : absl::StrSplit(db, ' ')) {
    absl::StrAppend(&uri, separator, setting);
    separator = "&";
  }
  auto pool = MustPool(uri);
  ASSERT_NE(pool, nullptr);
  EXPECT_TRUE(absl::StartsWith(pool->effective_connection_string(), uri + "&connect_timeout=10&"))
      << pool->effective_connection_string();
  EXPECT_EQ(Count(*pool, "SELECT 1"), 1);
}

class CriticRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    db_ = dd::testing::SharedPostgres().CreateDatabase("critic_repo_" + std::to_string(n++));
    auto bootstrap = MustPool(db_);
    ASSERT_TRUE(ApplyMigrations(*bootstrap).ok());
    pool_ = MustPool(db_, CriticRepository::Statements());
    repository_ = std::make_unique<CriticRepository>(*pool_);
  }
  std::string db_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<CriticRepository> repository_;
};

TEST_F(CriticRepositoryTest, CreateStoresConfigAndVersionZero) {
  critic::CriticConfig config;
  config.seed = 0xfedcba9876543210ULL;  // Above INT64_MAX: stored as bits.
  config.dropout = 0.25;
  auto id = repository_->Create("user-1", config, 291290, {"model", "optimizer", "rng"});
  ASSERT_TRUE(id.ok()) << id.status();
  auto record = repository_->Get(*id);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->owner, "user-1");
  EXPECT_EQ(record->config.seed, config.seed);
  EXPECT_EQ(record->config.dropout, 0.25);
  EXPECT_EQ(record->latest_version, 0u);
  auto state = repository_->State(*id, 0);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->model, "model");
  EXPECT_EQ(repository_->State(*id, 1).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CriticRepositoryTest, UnknownAndMalformedIds) {
  EXPECT_EQ(repository_->Get("00000000-0000-0000-0000-000000000000").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(repository_->Get("robert'); DROP TABLE critic.critics;--").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CriticRepositoryTest, ExistingNamesOnlyTheCriticsNotDeleted) {
  auto kept = repository_->Create("user-1", {}, 291290, {"model", "optimizer", "rng"});
  auto deleted = repository_->Create("user-1", {}, 291290, {"model", "optimizer", "rng"});
  ASSERT_TRUE(kept.ok() && deleted.ok());
  ASSERT_TRUE(repository_->Delete(*deleted).ok());
  const std::string never = "00000000-0000-0000-0000-000000000000";
  auto existing = repository_->Existing({*kept, *deleted, never});
  ASSERT_TRUE(existing.ok()) << existing.status();
  EXPECT_EQ(*existing, std::set<std::string>{*kept});
  EXPECT_TRUE(repository_->Existing({})->empty());
  EXPECT_EQ(repository_->Existing({*kept, "1,2}"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A version beyond PostgreSQL's bigint (the API's versions are uint64) was the database's error,
// "value ... is out of range for type bigint", as INVALID_ARGUMENT; no such version can exist.
TEST_F(CriticRepositoryTest, AVersionBeyondWhatCanBeStoredDoesNotExist) {
  auto id = repository_->Create("", critic::CriticConfig{}, 1, {"m", "o", "r"});
  ASSERT_TRUE(id.ok()) << id.status();
  for (uint64_t version : {uint64_t{1} << 63, ~uint64_t{0}, uint64_t{7}}) {
    auto state = repository_->State(*id, version);
    EXPECT_EQ(state.status().code(), absl::StatusCode::kNotFound) << state.status();
    EXPECT_EQ(state.status().message(), absl::StrCat("critic ", *id, " has no version ", version));
  }
  EXPECT_EQ(
      repository_->State("00000000-0000-0000-0000-000000000000", ~uint64_t{0}).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_TRUE(repository_->State(*id, 0).ok());
}

TEST_F(CriticRepositoryTest, AFailedRoundWritesNothing) {
  auto id = repository_->Create("", critic::CriticConfig{}, 1, {"m", "o", "r"});
  ASSERT_TRUE(id.ok());
  auto failed = repository_->UpdateLocked(
      *id, [](LockedCritic&) -> absl::StatusOr<std::vector<NewCriticVersion>> {
        return absl::InternalError("worker died");
      });
  EXPECT_FALSE(failed.ok());
  auto ok = repository_->UpdateLocked(
      *id, [](LockedCritic& locked) -> absl::StatusOr<std::vector<NewCriticVersion>> {
        EXPECT_EQ(locked.record().latest_version, 0u);
        std::vector<NewCriticVersion> versions(2);
        for (int i = 0; i < 2; ++i) {
          versions[i].example_id = "ex" + std::to_string(i);
          versions[i].example.audio.assign(critic::kClipFrames, 0.5f * i);
          versions[i].example.liked = i == 0;
          versions[i].state = {"m" + std::to_string(i), "o" + std::to_string(i), "r"};
        }
        return versions;
      });
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->latest_version, 2u);
  EXPECT_EQ(Count(*pool_, "SELECT count(*) FROM critic.examples"), 2);
  // Only the latest version keeps optimizer state.
  EXPECT_EQ(Count(*pool_, "SELECT count(*) FROM critic.versions WHERE optimizer_state IS NOT NULL"),
            1);
  auto examples = repository_->UpdateLocked(
      *id, [](LockedCritic& locked) -> absl::StatusOr<std::vector<NewCriticVersion>> {
        auto clips = locked.Examples();
        EXPECT_TRUE(clips.ok());
        EXPECT_EQ(clips->size(), 2u);
        EXPECT_TRUE((*clips)[0].liked);
        EXPECT_EQ((*clips)[1].audio[100], 0.5f);
        auto known = locked.KnownExamples({"ex0", "ex1", "ex9"});
        if (!known.ok()) return known.status();
        EXPECT_EQ(known->size(), 2u);
        EXPECT_TRUE(known->at("ex0"));   // Stored as a like,
        EXPECT_FALSE(known->at("ex1"));  // and as a dislike.
        return std::vector<NewCriticVersion>{};
      });
  EXPECT_TRUE(examples.ok());
  auto deleted = repository_->Delete(*id);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->first, 3);
  EXPECT_EQ(deleted->second, 2);
  EXPECT_EQ(Count(*pool_, "SELECT count(*) FROM critic.examples"), 0);
}

// A critic whose row another call holds past the lock timeout (a long training round on another
// worker) is "busy" in the API's terms, for deletion and training alike; a round's own ABORTED
// (a stale expected version) is not mistaken for it.
TEST_F(CriticRepositoryTest, ACriticHeldPastTheLockTimeoutIsBusy) {
  auto id = repository_->Create("", critic::CriticConfig{}, 1, {"m", "o", "r"});
  ASSERT_TRUE(id.ok());
  PgPoolOptions options;
  options.connection_string = db_;
  options.lock_timeout = absl::Milliseconds(200);
  options.max_attempts = 1;
  auto impatient_pool = PgPool::Create(options, CriticRepository::Statements());
  ASSERT_TRUE(impatient_pool.ok()) << impatient_pool.status();
  CriticRepository impatient(**impatient_pool);

  pqxx::connection holder(db_);
  auto hold = std::make_unique<pqxx::work>(holder);
  hold->exec_params("SELECT 1 FROM critic.critics WHERE critic_id = $1 FOR UPDATE", *id);
  const absl::Status deleting = impatient.Delete(*id).status();
  EXPECT_EQ(deleting.code(), absl::StatusCode::kAborted) << deleting;
  EXPECT_TRUE(absl::StrContains(deleting.message(), "critic " + *id + " is busy")) << deleting;
  const auto nothing = [](LockedCritic&) -> absl::StatusOr<std::vector<NewCriticVersion>> {
    return std::vector<NewCriticVersion>{};
  };
  const absl::Status training = impatient.UpdateLocked(*id, nothing).status();
  EXPECT_EQ(training.code(), absl::StatusCode::kAborted) << training;
  EXPECT_TRUE(absl::StrContains(training.message(), "is busy")) << training;
  hold->commit();

  const auto stale_version = [](LockedCritic&) -> absl::StatusOr<std::vector<NewCriticVersion>> {
    return absl::AbortedError("not version 7");
  };
  const absl::Status stale = impatient.UpdateLocked(*id, stale_version).status();
  EXPECT_EQ(stale, absl::AbortedError("not version 7"));
  EXPECT_TRUE(impatient.Delete(*id).ok());
}

// One training round that stores versions `first` to `last`, one per new rating.
absl::Status AddRatedVersions(CriticRepository& repository, const std::string& critic_id, int first,
                              int last) {
  const auto round = [first, last](LockedCritic&) -> absl::StatusOr<std::vector<NewCriticVersion>> {
    std::vector<NewCriticVersion> versions;
    for (int version = first; version <= last; ++version) {
      NewCriticVersion& v = versions.emplace_back();
      v.example_id = "ex" + std::to_string(version);
      v.example.audio.assign(critic::kClipFrames, 0.0f);
      v.example.liked = version % 2 == 0;
      v.mean_loss = 0.5;
      v.state = {"m" + std::to_string(version), "o", "r" + std::to_string(version)};
    }
    return versions;
  };
  return repository.UpdateLocked(critic_id, round).status();
}

std::vector<bool> WeightsKept(CriticRepository& repository, const std::string& critic_id) {
  std::vector<bool> kept;
  auto versions = repository.Versions(critic_id);
  EXPECT_TRUE(versions.ok()) << versions.status();
  if (versions.ok()) {
    for (const CriticVersionRecord& version : *versions)
      kept.push_back(version.weights_kept);
  }
  return kept;
}

TEST_F(CriticRepositoryTest, KeepsWeightsOfVersionZeroAndTheNewestVersionsOnly) {
  CriticRepository keeping_two(*pool_, {.kept_weight_versions = 2});
  auto id = keeping_two.Create("", critic::CriticConfig{}, 1, {"m0", "o0", "r0"});
  ASSERT_TRUE(id.ok());
  // Five rounds of one rating each (versions 1 to 5), as dd-session's Train calls come.
  for (int version = 1; version <= 5; ++version)
    ASSERT_TRUE(AddRatedVersions(keeping_two, *id, version, version).ok());
  EXPECT_EQ(WeightsKept(keeping_two, *id),
            (std::vector<bool>{true, false, false, false, true, true}));
  // A dropped version keeps its row: the rating that made it and its loss.
  auto versions = keeping_two.Versions(*id);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ((*versions)[2].example_id, "ex2");
  EXPECT_EQ((*versions)[2].mean_loss, 0.5);
  auto dropped = keeping_two.State(*id, 3);
  EXPECT_EQ(dropped.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(dropped.status().message(), "--keep_version_weights"))
      << dropped.status();
  auto initial = keeping_two.State(*id, 0);
  ASSERT_TRUE(initial.ok()) << initial.status();
  EXPECT_EQ(initial->model, "m0");
  auto before_latest = keeping_two.State(*id, 4);
  ASSERT_TRUE(before_latest.ok()) << before_latest.status();
  EXPECT_EQ(before_latest->model, "m4");
  EXPECT_EQ(before_latest->rng, "r4");
  // A round of three ratings (a Train call that catches up) stores the weights of the two it
  // keeps only.
  ASSERT_TRUE(AddRatedVersions(keeping_two, *id, 6, 8).ok());
  EXPECT_EQ(WeightsKept(keeping_two, *id),
            (std::vector<bool>{true, false, false, false, false, false, false, true, true}));
  EXPECT_EQ(keeping_two.State(*id, 7)->model, "m7");
  EXPECT_EQ(keeping_two.State(*id, 8)->optimizer, "o");

  // The database refuses half a state, and weights dropped from version 0.
  for (const char* statement :
       {"UPDATE critic.versions SET rng_state = NULL WHERE critic_id = $1 AND version = 8",
        "UPDATE critic.versions SET model_state = NULL, rng_state = NULL "
        "WHERE critic_id = $1 AND version = 0"}) {
    absl::Status refused = pool_->Transact([&](pqxx::work& tx) {
      tx.exec_params0(statement, *id);
      return absl::OkStatus();
    });
    EXPECT_FALSE(refused.ok()) << statement;
  }

  // By default every version keeps its weights.
  auto all = repository_->Create("", critic::CriticConfig{}, 1, {"m0", "o0", "r0"});
  ASSERT_TRUE(all.ok());
  for (int version = 1; version <= 3; ++version)
    ASSERT_TRUE(AddRatedVersions(*repository_, *all, version, version).ok());
  EXPECT_EQ(WeightsKept(*repository_, *all), (std::vector<bool>{true, true, true, true}));
}

TEST(SessionRepositoryTest, DeleteUserNamesTheCriticsOfTheSessionsItDeleted) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("session_repo_delete");
  auto bootstrap = MustPool(db);
  ASSERT_TRUE(ApplyMigrations(*bootstrap).ok());
  auto pool = MustPool(db, SessionRepository::Statements());
  SessionRepository repository(*pool);
  auto user = repository.CreateUser("leaving", "");
  ASSERT_TRUE(user.ok()) << user.status();
  auto other = repository.CreateUser("staying", "");
  ASSERT_TRUE(other.ok()) << other.status();
  // dd-session lists these critics before deleting the user; a session started in between is
  // only known from what the deletion itself removed.
  const std::vector<std::string> critics = {"6f1c4d2e-0000-4000-8000-000000000001",
                                            "6f1c4d2e-0000-4000-8000-000000000002"};
  for (size_t i = 0; i < critics.size(); ++i) {
    SessionRecord session;
    session.user_id = user->user_id;
    session.critic_id = critics[i];
    session.phase1_total = 4;
    ASSERT_TRUE(repository.CreateSession(session, "start-" + std::to_string(i)).ok());
  }
  SessionRecord kept;
  kept.user_id = other->user_id;
  kept.critic_id = "6f1c4d2e-0000-4000-8000-000000000003";
  kept.phase1_total = 4;
  ASSERT_TRUE(repository.CreateSession(kept, "start").ok());

  auto deleted = repository.DeleteUser(user->user_id);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->sessions, 2);
  std::vector<std::string> named = deleted->critic_ids;
  std::sort(named.begin(), named.end());
  EXPECT_EQ(named, critics);
  EXPECT_EQ(repository.DeleteUser(user->user_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Count(*pool, "SELECT count(*) FROM session.sessions"), 1);
}

// A new user's session of `loops` Phase I loops, none presented yet; its id.
std::string SessionWithLoops(SessionRepository& repository, const std::string& name, int loops) {
  auto user = repository.CreateUser(name, "");
  EXPECT_TRUE(user.ok()) << user.status();
  SessionRecord session;
  session.user_id = user->user_id;
  session.critic_id = "6f1c4d2e-0000-4000-8000-0000000000aa";
  session.phase1_total = loops;
  auto created = repository.CreateSession(session, "");
  EXPECT_TRUE(created.ok()) << created.status();
  for (int position = 1; position <= loops; ++position) {
    NewLoop loop;
    loop.position = position;
    loop.source = "learning";
    loop.pattern = "pattern " + std::to_string(position);
    loop.fingerprint = "fingerprint " + std::to_string(position);
    EXPECT_TRUE(repository.InsertLoop(created->first.session_id, loop).ok());
  }
  return created->first.session_id;
}

// Two apps that both number their Rate keys from 1 must not collide; within a session a key
// still names one rating, and the rating's session is always its loop's.
TEST(SessionRepositoryTest, RateKeysAreUniqueWithinASessionOnly) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("session_repo_rate_keys");
  auto bootstrap = MustPool(db);
  ASSERT_TRUE(ApplyMigrations(*bootstrap).ok());
  auto pool = MustPool(db, SessionRepository::Statements());
  SessionRepository repository(*pool);
  const std::string first = SessionWithLoops(repository, "app one", 2);
  const std::string second = SessionWithLoops(repository, "app two", 1);
  auto one = repository.PresentNext(first);
  auto two = repository.PresentNext(second);
  ASSERT_TRUE(one.ok() && one->has_value() && two.ok() && two->has_value());

  auto rated_one = repository.Rate((*one)->loop_id, true, "1", "");
  ASSERT_TRUE(rated_one.ok()) << rated_one.status();
  auto rated_two = repository.Rate((*two)->loop_id, false, "1", "");
  ASSERT_TRUE(rated_two.ok()) << rated_two.status();
  EXPECT_FALSE(rated_two->duplicate);  // Another session's key "1": a rating of its own.
  auto retried = repository.Rate((*one)->loop_id, true, "1", "");
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->duplicate);

  auto next = repository.PresentNext(first);
  ASSERT_TRUE(next.ok() && next->has_value());
  auto reused = repository.Rate((*next)->loop_id, true, "1", "");
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(reused.status().message(), "another loop of this session"))
      << reused.status();
  EXPECT_EQ(Count(*pool, "SELECT count(*) FROM session.ratings"), 2);
  EXPECT_EQ(Count(*pool,
                  "SELECT count(*) FROM session.ratings r JOIN session.loops l "
                  "USING (loop_id) WHERE r.session_id = l.session_id"),
            2);
  // A rating that named another session than its loop's would be refused by the schema itself.
  const absl::Status mismatched = pool->Transact([&](pqxx::work& tx) {
    tx.exec_params0(
        "INSERT INTO session.ratings (loop_id, session_id, liked, request_id) "
        "VALUES ($1, $2, true, 'x')",
        (*next)->loop_id, second);
    return absl::OkStatus();
  });
  EXPECT_EQ(mismatched.code(), absl::StatusCode::kNotFound) << mismatched;  // Foreign key.
}

// A database rated under the old schema (keys unique across the service) gains each rating's
// session from its loop when migration 0007 runs, and its keys keep working.
TEST(MigrationsTest, RatingsOfAnOlderSchemaGetTheirSessions) {
  const std::string db = dd::testing::SharedPostgres().CreateDatabase("migrations_0007");
  auto pool = MustPool(db);
  std::string loop_id;
  ASSERT_TRUE(pool->Transact([&](pqxx::work& tx) {
                    tx.exec0(
                        "CREATE TABLE public.schema_migrations (name text PRIMARY KEY, "
                        "applied_at timestamptz NOT NULL DEFAULT now())");
                    for (const Migration& migration : AllMigrations()) {
                      if (migration.name >= "0007") break;
                      tx.exec0(migration.sql);
                      tx.exec_params0("INSERT INTO public.schema_migrations (name) VALUES ($1)",
                                      migration.name);
                    }
                    const std::string user =
                        tx.exec1(
                              "INSERT INTO session.users (display_name) VALUES ('old') "
                              "RETURNING user_id::text")[0]
                            .as<std::string>();
                    const std::string session =
                        tx.exec_params1(
                              "INSERT INTO session.sessions (user_id, options, seed, critic_id, "
                              "phase1_total, phase2_per_critic) VALUES ($1, '', 1, "
                              "gen_random_uuid(), 2, 0) RETURNING session_id::text",
                              user)[0]
                            .as<std::string>();
                    loop_id = tx.exec_params1(
                                    "INSERT INTO session.loops (session_id, position, phase, "
                                    "source, pattern, fingerprint, critic_version, score, "
                                    "steps_taken, capped, presented_at) VALUES ($1, 1, 1, "
                                    "'learning', '', 'f1', 0, 0.5, 1, false, now()) "
                                    "RETURNING loop_id::text",
                                    session)[0]
                                  .as<std::string>();
                    tx.exec_params0(
                        "INSERT INTO session.ratings (loop_id, liked, request_id) "
                        "VALUES ($1, true, 'old-key')",
                        loop_id);
                    return absl::OkStatus();
                  })
                  .ok());
  auto applied = ApplyMigrations(*pool);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, (std::vector<std::string>{"0007_rating_request_per_session"}));
  EXPECT_EQ(Count(*pool,
                  "SELECT count(*) FROM session.ratings r JOIN session.loops l "
                  "USING (loop_id) WHERE r.session_id = l.session_id"),
            1);
  auto statements = MustPool(db, SessionRepository::Statements());
  SessionRepository repository(*statements);
  auto retried = repository.Rate(loop_id, true, "old-key", "");
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->duplicate);
}

// README's backup advice, followed: a dump restored into an empty database holds every row,
// byte for byte, is at the binary's schema already, and serves on as the original would.
TEST(BackupTest, ADumpRestoredIntoAnEmptyDatabaseServesOn) {
  auto& postgres = dd::testing::SharedPostgres();
  const std::string source = postgres.CreateDatabase("backup_source");
  {
    auto bootstrap = MustPool(source);
    ASSERT_TRUE(ApplyMigrations(*bootstrap).ok());
  }
  auto critic_pool = MustPool(source, CriticRepository::Statements());
  auto session_pool = MustPool(source, SessionRepository::Statements());
  CriticRepository critics(*critic_pool);
  SessionRepository sessions(*session_pool);

  critic::CriticConfig config;
  config.seed = 0x8000000000000001ULL;  // Stored as the bits of a bigint.
  auto critic_id = critics.Create("owner", config, 291290, {"m0", "o0", "r0"});
  ASSERT_TRUE(critic_id.ok()) << critic_id.status();
  // A clip whose every float differs, so a restore that changed any byte would show.
  const auto round = [](LockedCritic&) -> absl::StatusOr<std::vector<NewCriticVersion>> {
    std::vector<NewCriticVersion> versions(1);
    versions[0].example_id = "rated-loop-1";
    versions[0].example.liked = true;
    versions[0].example.audio.resize(critic::kClipFrames);
    for (size_t i = 0; i < versions[0].example.audio.size(); ++i)
      versions[0].example.audio[i] = static_cast<float>(i) * 1e-5f - 0.5f;
    versions[0].mean_loss = 0.25;
    versions[0].state = {std::string("weights\0\xff", 9), "adam", "rng"};
    return versions;
  };
  ASSERT_TRUE(critics.UpdateLocked(*critic_id, round).ok());

  auto user = sessions.CreateUser("ana", "user-key");
  ASSERT_TRUE(user.ok()) << user.status();
  SessionRecord session;
  session.user_id = user->user_id;
  session.critic_id = *critic_id;
  session.phase1_total = 2;
  auto created = sessions.CreateSession(session, "session-key");
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string session_id = created->first.session_id;
  for (int position = 1; position <= 2; ++position) {
    NewLoop loop;
    loop.position = position;
    loop.source = "learning";
    loop.pattern = "pattern " + std::to_string(position);
    loop.fingerprint = "fingerprint " + std::to_string(position);
    ASSERT_TRUE(sessions.InsertLoop(session_id, loop).ok());
  }
  auto first = sessions.PresentNext(session_id);
  ASSERT_TRUE(first.ok() && first->has_value());
  ASSERT_TRUE(sessions.Rate((*first)->loop_id, true, "rate-key-1", user->user_id).ok());

  const std::string restored = postgres.DumpAndRestore("backup_source", "backup_restored");
  {
    auto bootstrap = MustPool(restored);
    auto applied = ApplyMigrations(*bootstrap);
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_TRUE(applied->empty());  // The schema's version came along with the rows.
  }
  auto restored_critic_pool = MustPool(restored, CriticRepository::Statements());
  auto restored_session_pool = MustPool(restored, SessionRepository::Statements());
  CriticRepository restored_critics(*restored_critic_pool);
  SessionRepository restored_sessions(*restored_session_pool);

  auto critic = restored_critics.Get(*critic_id);
  ASSERT_TRUE(critic.ok()) << critic.status();
  EXPECT_EQ(critic->config.seed, config.seed);
  EXPECT_EQ(critic->latest_version, 1u);
  auto state = restored_critics.State(*critic_id, 1);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->model, std::string("weights\0\xff", 9));
  EXPECT_EQ(state->optimizer, "adam");
  auto examples_match = restored_critics.UpdateLocked(
      *critic_id, [&](LockedCritic& locked) -> absl::StatusOr<std::vector<NewCriticVersion>> {
        auto clips = locked.Examples();
        if (!clips.ok()) return clips.status();
        EXPECT_EQ(clips->size(), 1u);
        if (clips->size() == 1) {
          auto expected = round(locked);
          EXPECT_EQ((*clips)[0].audio, (*expected)[0].example.audio);  // Every float, exactly.
        }
        return std::vector<NewCriticVersion>{};
      });
  ASSERT_TRUE(examples_match.ok()) << examples_match.status();

  // Idempotency keys survive: retries made after the restore find what they made before it.
  auto user_again = restored_sessions.CreateUser("ana", "user-key");
  ASSERT_TRUE(user_again.ok()) << user_again.status();
  EXPECT_EQ(user_again->user_id, user->user_id);
  auto session_again = restored_sessions.CreateSession(session, "session-key");
  ASSERT_TRUE(session_again.ok()) << session_again.status();
  EXPECT_EQ(session_again->first.session_id, session_id);
  EXPECT_FALSE(session_again->second);
  auto retried = restored_sessions.Rate((*first)->loop_id, true, "rate-key-1", user->user_id);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->duplicate);

  // And the session goes on: the next loop is rated, and the critic trains on.
  auto second = restored_sessions.PresentNext(session_id);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->position, 2);
  ASSERT_TRUE(restored_sessions.Rate((*second)->loop_id, false, "rate-key-2", "").ok());
  auto counts = restored_sessions.Counts(session_id);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->likes, 1);
  EXPECT_EQ(counts->dislikes, 1);
  ASSERT_TRUE(AddRatedVersions(restored_critics, *critic_id, 2, 2).ok());
  EXPECT_EQ(restored_critics.Get(*critic_id)->latest_version, 2u);
  // The original is untouched by what the restored copy did.
  EXPECT_EQ(critics.Get(*critic_id)->latest_version, 1u);
}

}  // namespace
}  // namespace dd::storage
