// The whole backend for session tests: dd-render, dd-critic, dd-generator and dd-session as real
// processes on loopback, over a PostgreSQL database the test starts. Any service can be killed
// and started again on the same port, as an orchestrator would restart a pod.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "deepdrummer/v1/session.grpc.pb.h"
#include "tests/support/service_process.h"
#include "tests/support/test_certificates.h"

namespace dd::testing {

struct SessionStackOptions {
  // LibTorch threads of the critic worker (tests use 1 to share the machine).
  int critic_threads = 1;
  // The kit every service loads; empty means samples/default-kit.
  std::string samples_dir;
  // Empty: the services log warnings and errors to the test's stderr. Otherwise they log
  // everything, debug lines included, to log_dir/<name>.log (see SessionStack::Log()).
  std::filesystem::path log_dir;
  // Not owned. Set: every service serves mutual TLS with its server certificate and calls the
  // others with it, and session() is a mutual-TLS stub; null: plaintext.
  const TestCertificates* tls = nullptr;
  // More flags for dd-critic and dd-session.
  std::vector<std::string> critic_flags;
  std::vector<std::string> session_flags;
};

class SessionStack {
 public:
  explicit SessionStack(const std::string& database_name, SessionStackOptions options = {});

  bool up() const;
  deepdrummer::v1::SessionService::Stub& session() { return *session_stub_; }
  std::string session_address() const { return session_->address(); }
  std::string render_address() const { return render_->address(); }
  std::shared_ptr<grpc::Channel> critic_channel() const { return critic_->channel(); }

  // SIGKILL, then a fresh process on the same port.
  void RestartSession();
  void KillCritic();
  void StartCritic();
  // Sends `signal` to dd-render (SIGSTOP, SIGCONT: a render worker that stalls).
  void SignalRender(int signal) { render_->Signal(signal); }
  pid_t render_pid() const { return render_->pid(); }

  // What the service `name` ("render", "critic", "generator", "session") has logged so far;
  // empty without a log_dir.
  std::string Log(const std::string& name) const;

  // The database's libpq connection string.
  const std::string& database() const { return database_; }
  // A direct connection, for checking what the database holds.
  pqxx::connection& db() { return *db_; }
  int64_t Count(const std::string& sql);

 private:
  std::unique_ptr<ServiceProcess> Start(const std::string& name, int port);

  void ConnectSession();

  std::string database_;
  std::string kit_;
  SessionStackOptions options_;
  std::unique_ptr<pqxx::connection> db_;
  std::unique_ptr<ServiceProcess> render_, critic_, generator_, session_;
  int critic_port_ = 0, session_port_ = 0;
  std::unique_ptr<deepdrummer::v1::SessionService::Stub> session_stub_;
};

}  // namespace dd::testing
