#include "tests/services/session/session_stack.h"

#include <signal.h>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <fstream>
#include <iterator>
#include <utility>

#include <pqxx/nontransaction>
#include <pqxx/result>

#include "tests/support/postgres_server.h"
#include "tests/support/test_support.h"

namespace dd::testing {

SessionStack::SessionStack(const std::string& database_name, SessionStackOptions options)
    : options_(std::move(options)) {
  database_ = SharedPostgres().CreateDatabase(database_name);
  kit_ = "--samples=" +
         (options_.samples_dir.empty() ? DefaultKitDir().string() : options_.samples_dir);
  render_ = Start("render", 0);
  critic_ = Start("critic", 0);
  critic_port_ = critic_->port();
  generator_ = Start("generator", 0);
  session_ = Start("session", 0);
  session_port_ = session_->port();
  ConnectSession();
  db_ = std::make_unique<pqxx::connection>(database_);
}

void SessionStack::ConnectSession() {
  if (options_.tls == nullptr) {
    session_stub_ = deepdrummer::v1::SessionService::NewStub(session_->channel());
    return;
  }
  const auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = read(options_.tls->ca());
  tls.pem_private_key = read(options_.tls->client_key());
  tls.pem_cert_chain = read(options_.tls->client_cert());
  session_stub_ = deepdrummer::v1::SessionService::NewStub(
      grpc::CreateChannel(session_->address(), grpc::SslCredentials(tls)));
}

std::unique_ptr<ServiceProcess> SessionStack::Start(const std::string& name, int port) {
  std::vector<std::string> args = {options_.log_dir.empty() ? "--log_level=warning"
                                                            : "--log_level=debug"};
  const std::filesystem::path log_file =
      options_.log_dir.empty() ? "" : options_.log_dir / (name + ".log");
  if (const TestCertificates* tls = options_.tls; tls != nullptr) {
    // The server certificate carries both usages: each service shows it to its callers and to
    // the services it calls.
    args.insert(args.end(),
                {"--tls_cert_file=" + tls->server_cert(), "--tls_key_file=" + tls->server_key(),
                 "--tls_client_ca_file=" + tls->ca(), "--tls_ca_file=" + tls->ca()});
  }
  // A later --port wins over the --port=0 that ServiceProcess passes first.
  if (port != 0) args.push_back("--port=" + std::to_string(port));
  if (name == "render") {
    args.push_back(kit_);
    return std::make_unique<ServiceProcess>(DD_RENDER_BIN, args, log_file);
  }
  if (name == "critic") {
    args.insert(args.end(), {kit_, "--database=" + database_,
                             "--threads=" + std::to_string(options_.critic_threads)});
    args.insert(args.end(), options_.critic_flags.begin(), options_.critic_flags.end());
    return std::make_unique<ServiceProcess>(DD_CRITIC_BIN, args, log_file);
  }
  if (name == "generator") {
    args.insert(args.end(), {kit_, "--critic=127.0.0.1:" + std::to_string(critic_port_)});
    return std::make_unique<ServiceProcess>(DD_GENERATOR_BIN, args, log_file);
  }
  args.insert(args.end(),
              {"--database=" + database_, "--critic=127.0.0.1:" + std::to_string(critic_port_),
               "--generator=" + generator_->address(), "--render=" + render_->address()});
  args.insert(args.end(), options_.session_flags.begin(), options_.session_flags.end());
  return std::make_unique<ServiceProcess>(DD_SESSION_BIN, args, log_file);
}

std::string SessionStack::Log(const std::string& name) const {
  if (options_.log_dir.empty()) return "";
  std::ifstream in(options_.log_dir / (name + ".log"));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool SessionStack::up() const {
  return render_->port() && critic_->port() && generator_->port() && session_->port();
}

void SessionStack::RestartSession() {
  session_->Kill(SIGKILL);
  session_ = Start("session", session_port_);
  ConnectSession();
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
