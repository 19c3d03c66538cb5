#include "tests/support/service_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

namespace dd::testing {

ServiceProcess::ServiceProcess(const std::string& binary, const std::vector<std::string>& args,
                               const std::filesystem::path& log_file) {
  const std::filesystem::path port_file = dir_.path() / "port";
  std::vector<std::string> argv_strings = {binary, "--port=0", "--port_file=" + port_file.string()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ == 0) {
    if (!log_file.empty()) {
      const int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(126);
    }
    std::vector<char*> argv;
    for (std::string& arg : argv_strings)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 1200 && port_ == 0; ++i) {
    std::ifstream in(port_file);
    if (!(in >> port_)) port_ = 0;
    if (port_ != 0) break;
    if (waitpid(pid_, &exit_status_, WNOHANG) == pid_) {  // It died during start-up.
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

ServiceProcess::~ServiceProcess() {
  Kill(SIGKILL);
}

int ServiceProcess::Kill(int signal) {
  if (pid_ <= 0) return exit_status_;
  kill(pid_, signal);
  waitpid(pid_, &exit_status_, 0);
  pid_ = -1;
  return exit_status_;
}

void ServiceProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

}  // namespace dd::testing
