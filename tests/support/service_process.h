// A service binary run as a child process on a free loopback port, so tests can call it over
// gRPC and kill it (SIGKILL, SIGTERM) like an orchestrator would.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "tests/support/test_support.h"

namespace dd::testing {

class ServiceProcess {
 public:
  // Starts `binary --port=0 --port_file=... args...` and waits (up to 60 s) for it to listen.
  // port() is 0 when it did not come up. Its log (stderr) goes to `log_file` when one is given
  // (appended to, so that a restarted service keeps one log), else to the test's stderr.
  ServiceProcess(const std::string& binary, const std::vector<std::string>& args,
                 const std::filesystem::path& log_file = {});
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // Sends `signal` and waits for the process to end; returns its wait status.
  int Kill(int signal);
  // Sends `signal` without waiting (a shutdown in progress, to observe).
  void Signal(int signal);
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_status_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace dd::testing
