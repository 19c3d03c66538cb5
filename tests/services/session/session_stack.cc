#include "tests/services/session/session_stack.h"

#include <signal.h>

#include <fstream>
#include <iterator>

#include <pqxx/nontransaction>
#include <pqxx/result>

#include "tests/support/postgres_server.h"
#include "tests/support/test_support.h"

namespace dd::testing {

SessionStack::SessionStack(const std::string& database_name, int critic_threads,
                           const std::string& samples_dir, const std::filesystem::path& log_dir)
    : log_dir_(log_dir), critic_threads_(critic_threads) {
  database_ = SharedPostgres().CreateDatabase(database_name);
  kit_ = "--samples=" + (samples_dir.empty() ? DefaultKitDir().string() : samples_dir);
  render_ = Start("render", 0);
  critic_ = Start("critic", 0);
  critic_port_ = critic_->port();
  generator_ = Start("generator", 0);
  session_ = Start("session", 0);
  session_port_ = session_->port();
  session_stub_ = deepdrummer::v1::SessionService::NewStub(session_->channel());
  db_ = std::make_unique<pqxx::connection>(database_);
}

std::unique_ptr<ServiceProcess> SessionStack::Start(const std::string& name, int port) {
  std::vector<std::string> args = {log_dir_.empty() ? "--log_level=warning" : "--log_level=debug"};
  const std::filesystem::path log_file = log_dir_.empty() ? "" : log_dir_ / (name + ".log");
  // A later --port wins over the --port=0 that ServiceProcess passes first.
  if (port != 0) args.push_back("--port=" + std::to_string(port));
  if (name == "render") {
    args.push_back(kit_);
    return std::make_unique<ServiceProcess>(DD_RENDER_BIN, args, log_file);
  }
  if (name == "critic") {
    args.insert(args.end(),
                {kit_, "--database=" + database_, "--threads=" + std::to_string(critic_threads_)});
    return std::make_unique<ServiceProcess>(DD_CRITIC_BIN, args, log_file);
  }
  if (name == "generator") {
    args.insert(args.end(), {kit_, "--critic=127.0.0.1:" + std::to_string(critic_port_)});
    return std::make_unique<ServiceProcess>(DD_GENERATOR_BIN, args, log_file);
  }
  args.insert(args.end(),
              {"--database=" + database_, "--critic=127.0.0.1:" + std::to_string(critic_port_),
               "--generator=" + generator_->address(), "--render=" + render_->address()});
  return std::make_unique<ServiceProcess>(DD_SESSION_BIN, args, log_file);
}

std::string SessionStack::Log(const std::string& name) const {
  if (log_dir_.empty()) return "";
  std::ifstream in(log_dir_ / (name + ".log"));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool SessionStack::up() const {
  return render_->port() && critic_->port() && generator_->port() && session_->port();
}

void SessionStack::RestartSession() {
  session_->Kill(SIGKILL);
  session_ = Start("session", session_port_);
  session_stub_ = deepdrummer::v1::SessionService::NewStub(session_->channel());
}

void SessionStack::KillCritic() {
  critic_->Kill(SIGKILL);
}

void SessionStack::StartCritic() {
  critic_ = Start("critic", critic_port_);
}

int64_t SessionStack::Count(const std::string& sql) {
  pqxx::nontransaction tx(*db_);
  return tx.exec1(sql)[0].as<int64_t>();
}

}  // namespace dd::testing
