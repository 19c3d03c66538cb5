#include "common/storage/pg_pool.h"

#include <thread>

#include <pqxx/except>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/connection_string.h"
#include "common/storage/pg_errors.h"

namespace dd::storage {
namespace {

absl::StatusOr<ConnectionSettings> TimeoutSettings(const PgPoolOptions& options) {
  ConnectionSettings settings;
  if (options.connect_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout must not be negative");
  }
  if (options.connect_timeout > absl::ZeroDuration()) {
    // libpq takes whole seconds: round up, so that a bound is never shortened.
    settings.emplace_back(
        "connect_timeout",
        absl::StrCat(absl::ToInt64Seconds(absl::Ceil(options.connect_timeout, absl::Seconds(1)))));
  }
  const absl::Duration dead = options.dead_server_timeout;
  if (dead == absl::ZeroDuration()) return settings;
  const int64_t seconds = absl::ToInt64Seconds(dead);
  if (seconds < 6 || absl::Seconds(seconds) != dead) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dead_server_timeout must be 0 or whole seconds >= 6, got ", absl::FormatDuration(dead)));
  }
  settings.emplace_back("keepalives", "1");
  settings.emplace_back("keepalives_idle", absl::StrCat(seconds / 2));
  settings.emplace_back("keepalives_interval", absl::StrCat(seconds / 6));
  settings.emplace_back("keepalives_count", "3");
  settings.emplace_back("tcp_user_timeout", absl::StrCat(seconds * 1000));
  return settings;
}

}  // namespace

absl::StatusOr<PgPool::Metrics> PgPool::AddMetrics(metrics::Registry& registry) {
  auto connections = registry.AddGauge(
      "db_pool_connections", "Database connections of the pool: open (in use or idle), idle.",
      {"state"});
  if (!connections.ok()) return connections.status();
  auto retries = registry.AddCounter(
      "db_transaction_retries_total",
      "Transactions tried again after a transient failure (lost connection, serialization).", {});
  if (!retries.ok()) return retries.status();
  auto timeouts =
      registry.AddCounter("db_pool_acquire_timeouts_total",
                          "Waits for a free connection that ran out (RESOURCE_EXHAUSTED).", {});
  if (!timeouts.ok()) return timeouts.status();
  auto flushes = registry.AddCounter(
      "db_pool_flushes_total", "Idle connections dropped together after one was found lost.", {});
  if (!flushes.ok()) return flushes.status();
  auto short_of_resources = registry.AddCounter(
      "db_resource_errors_total",
      "Transactions the database refused for want of disk space, memory or a configured limit "
      "(SQLSTATE class 53); each one's request failed with RESOURCE_EXHAUSTED.",
      {});
  if (!short_of_resources.ok()) return short_of_resources.status();
  return Metrics{.open = &(*connections)->WithLabels({"open"}),
                 .idle = &(*connections)->WithLabels({"idle"}),
                 .retries = &(*retries)->WithLabels({}),
                 .acquire_timeouts = &(*timeouts)->WithLabels({}),
                 .flushes = &(*flushes)->WithLabels({}),
                 .resource_errors = &(*short_of_resources)->WithLabels({})};
}

absl::Status PgPool::DatabaseFailure(const char* what_was_done) {
  absl::Status status = StatusFromCurrentException(what_was_done);
  // The one database failure no retry or reconnect mends, and the caller only sees a refusal:
  // an operator must free space, so it is counted for an alert and logged as an error. A full
  // disk fails every write, and each failed call has its own (throttled) line: one a second here.
  if (absl::IsResourceExhausted(status)) {
    metrics_.resource_errors->Increment();
    const int64_t second = absl::ToUnixSeconds(absl::Now());
    if (last_resource_error_logged_.exchange(second) != second) {
      log::Error("db.out_of_resources", {{"error", std::string(status.message())}});
    }
  }
  return status;
}

void PgPool::PublishCounts() {
  metrics_.open->Set(open_);
  metrics_.idle->Set(static_cast<int64_t>(idle_.size()));
}

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Create(const PgPoolOptions& options,
                                                       PreparedStatements statements,
                                                       metrics::Registry* metrics) {
  if (options.size < 1 || options.size > 1000) {
    return absl::InvalidArgumentError("database pool size must be in [1, 1000]");
  }
  if (options.max_attempts < 1) return absl::InvalidArgumentError("max_attempts must be >= 1");
  if (options.statement_timeout < absl::ZeroDuration() ||
      options.lock_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "the statement and lock timeouts must be zero (none) or positive");
  }
  absl::StatusOr<ConnectionSettings> timeouts = TimeoutSettings(options);
  if (!timeouts.ok()) return timeouts.status();
  absl::StatusOr<std::string> effective =
      WithConnectionDefaults(options.connection_string, *timeouts);
  if (!effective.ok()) return effective.status();
  std::unique_ptr<metrics::Registry> own_metrics;
  auto added = AddMetrics(metrics::GivenOrOwn(metrics, own_metrics));
  if (!added.ok()) return added.status();
  std::unique_ptr<PgPool> pool(new PgPool(options, *std::move(effective), std::move(statements),
                                          std::move(own_metrics), *added));
  // One connection up front, so a wrong address fails at start-up with a clear error; the rest
  // open on demand.
  auto first = pool->Connect();
  if (!first.ok()) return first.status();
  absl::MutexLock lock(&pool->mutex_);
  pool->idle_.push_back(*std::move(first));
  pool->open_ = 1;
  pool->PublishCounts();
  return pool;
}

PgPool::~PgPool() = default;

absl::StatusOr<std::unique_ptr<pqxx::connection>> PgPool::Connect() const {
  try {
    auto connection = std::make_unique<pqxx::connection>(effective_connection_string_);
    // Through set_variable, which libpqxx sets again if it ever reconnects this connection.
    for (const auto& [variable, bound] :
         {std::pair{"statement_timeout", options_.statement_timeout},
          std::pair{"lock_timeout", options_.lock_timeout}}) {
      if (bound > absl::ZeroDuration()) {
        connection->set_variable(variable, absl::StrCat(absl::ToInt64Milliseconds(bound)));
      }
    }
    for (const auto& [name, sql] : statements_)
      connection->prepare(name, sql);
    return connection;
  } catch (...) {
    absl::Status status = StatusFromCurrentException("connecting to PostgreSQL");
    return absl::UnavailableError(status.message());
  }
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> PgPool::Acquire() {
  {
    absl::MutexLock lock(&mutex_);
    auto available = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
      return !idle_.empty() || open_ < options_.size;
    };
    if (!mutex_.AwaitWithTimeout(absl::Condition(&available), options_.acquire_timeout)) {
      metrics_.acquire_timeouts->Increment();
      return absl::ResourceExhaustedError(absl::StrCat(
          "no free database connection within ", absl::FormatDuration(options_.acquire_timeout),
          " (pool size ", options_.size, ")"));
    }
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      PublishCounts();
      return connection;
    }
    ++open_;
    PublishCounts();
  }
  auto connection = Connect();
  if (!connection.ok()) {
    absl::MutexLock lock(&mutex_);
    --open_;
    PublishCounts();
  }
  return connection;
}

void PgPool::Release(std::unique_ptr<pqxx::connection> connection) {
  std::vector<std::unique_ptr<pqxx::connection>> dropped;  // Closed outside the lock.
  absl::MutexLock lock(&mutex_);
  if (connection && connection->is_open()) {
    idle_.push_back(std::move(connection));
    PublishCounts();
    return;
  }
  // A lost connection most often means the server restarted or failed over, and then every
  // idle connection is dead too: reusing them would fail the next requests one attempt each.
  // New ones open on demand.
  dropped.swap(idle_);
  open_ -= 1 + static_cast<int>(dropped.size());
  PublishCounts();
  if (!dropped.empty()) {
    metrics_.flushes->Increment();
    log::Warning("db.pool_flushed", {{"idle_dropped", dropped.size()}});
  }
}

template <typename Transaction>
absl::Status PgPool::Retrying(const std::function<absl::Status(Transaction&)>& body) {
  absl::Duration backoff = options_.retry_backoff;
  absl::Status status;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    auto connection = Acquire();
    if (!connection.ok()) return connection.status();
    bool database_failed = false;  // As opposed to `body` deciding to fail: never retried.
    try {
      Transaction transaction(**connection);
      status = body(transaction);
      if (status.ok()) transaction.commit();
    } catch (...) {
      status = DatabaseFailure("database transaction");
      database_failed = true;
    }
    const bool broken =
        !(*connection)->is_open() || (database_failed && absl::IsUnavailable(status));
    Release(broken ? nullptr : *std::move(connection));
    if (status.ok() || !database_failed || !IsTransient(status) ||
        attempt == options_.max_attempts) {
      break;
    }
    metrics_.retries->Increment();
    log::Warning("db.retry", {{"attempt", attempt}, {"error", std::string(status.message())}});
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(backoff));
    backoff *= 2;
  }
  return status;
}

absl::Status PgPool::Transact(const std::function<absl::Status(pqxx::work&)>& body) {
  return Retrying<pqxx::work>(body);
}

absl::Status PgPool::TransactSerializable(
    const std::function<absl::Status(pqxx::transaction<pqxx::serializable>&)>& body) {
  return Retrying<pqxx::transaction<pqxx::serializable>>(body);
}

absl::Status PgPool::WithConnection(const std::function<absl::Status(pqxx::connection&)>& body) {
  auto connection = Acquire();
  if (!connection.ok()) return connection.status();
  absl::Status status;
  try {
    status = body(**connection);
  } catch (...) {
    status = DatabaseFailure("database call");
  }
  Release(std::move(*connection));
  return status;
}

}  // namespace dd::storage
