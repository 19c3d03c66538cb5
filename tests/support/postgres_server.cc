#include "tests/support/postgres_server.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <vector>

namespace dd::testing {
namespace {

constexpr int kPort = 5432;  // Only names the socket file; nothing listens on TCP.

std::string NewestPostgresBin() {
  std::vector<std::filesystem::path> bins;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    if (std::filesystem::exists(entry.path() / "bin" / "initdb"))
      bins.push_back(entry.path() / "bin");
  }
  if (bins.empty()) return "";
  std::sort(bins.begin(), bins.end(), [](const auto& a, const auto& b) {
    return std::stoi(a.parent_path().filename().string()) <
           std::stoi(b.parent_path().filename().string());
  });
  return bins.back().string();
}

std::string AsPostgresUser(const std::string& command) {
  if (geteuid() != 0) return command;
  return "runuser -u postgres -- " + command;
}

}  // namespace

std::unique_ptr<PostgresServer> PostgresServer::Start(std::string* error) {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->bin_ = NewestPostgresBin();
  if (server->bin_.empty()) {
    *error =
        "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install "
        "postgresql)";
    return nullptr;
  }
  std::string pattern = (std::filesystem::temp_directory_path() / "dd-pg-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    *error = "mkdtemp failed";
    return nullptr;
  }
  server->dir_ = pattern;
  const auto data = server->dir_ / "data";
  std::filesystem::create_directories(data);
  if (geteuid() == 0) {
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      *error = "running as root and there is no postgres user to run PostgreSQL as";
      return nullptr;
    }
    for (const auto& path : {server->dir_, data}) {
      if (chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) {
        *error = "chown of the test database folder failed";
        return nullptr;
      }
    }
  }
  const std::string log = (server->dir_ / "server.log").string();
  std::string command = AsPostgresUser(server->bin_ + "/initdb -D " + data.string() +
                                       " -U deepdrummer --auth=trust -E UTF8 > " +
                                       (server->dir_ / "initdb.log").string() + " 2>&1");
  if (std::system(command.c_str()) != 0) {
    *error = "initdb failed; see " + (server->dir_ / "initdb.log").string();
    return nullptr;
  }
  // fsync off: a test database does not need to survive a power cut, and it makes tests faster.
  command = AsPostgresUser(
      server->bin_ + "/pg_ctl -D " + data.string() + " -w -l " + log + " -o \"-p " +
      std::to_string(kPort) + " -k " + server->dir_.string() +
      " -c listen_addresses='' -c fsync=off -c max_connections=200\" start > /dev/null");
  if (std::system(command.c_str()) != 0) {
    *error = "pg_ctl start failed; see " + log;
    return nullptr;
  }
  return server;
}

PostgresServer::~PostgresServer() {
  if (dir_.empty()) return;
  const std::string command = AsPostgresUser(bin_ + "/pg_ctl -D " + (dir_ / "data").string() +
                                             " -m immediate stop > /dev/null 2>&1");
  if (std::system(command.c_str()) != 0) {
    // The server may not have started; nothing else to stop.
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PostgresServer::ConnectionString(const std::string& database) const {
  return "host=" + dir_.string() + " port=" + std::to_string(kPort) +
         " user=deepdrummer dbname=" + database;
}

std::string PostgresServer::CreateDatabase(const std::string& name) {
  const std::string command = bin_ + "/psql \"" + ConnectionString("postgres") +
                              "\" -q -v ON_ERROR_STOP=1 -c 'CREATE DATABASE \"" + name +
                              "\"' > /dev/null";
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("CREATE DATABASE " + name + " failed");
  return ConnectionString(name);
}

std::string PostgresServer::DumpAndRestore(const std::string& source, const std::string& target) {
  const std::string target_connection = CreateDatabase(target);
  const std::string dump = (dir_ / (source + ".dump")).string();
  const std::string log = (dir_ / (target + "-restore.log")).string();
  const std::string command = bin_ + "/pg_dump -Fc -f " + dump + " \"" + ConnectionString(source) +
                              "\" > " + log + " 2>&1 && " + bin_ +
                              "/pg_restore --no-owner --exit-on-error -d \"" + target_connection +
                              "\" " + dump + " >> " + log + " 2>&1";
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("dump of " + source + " and restore into " + target + " failed; see " +
                             log);
  std::filesystem::remove(dump);
  return target_connection;
}

PostgresServer& SharedPostgres() {
  static PostgresServer* server = [] {
    std::string error;
    auto started = PostgresServer::Start(&error);
    if (!started) throw std::runtime_error("test PostgreSQL did not start: " + error);
    return started.release();  // Stopped by the atexit below.
  }();
  static const bool registered = [] {
    std::atexit([] { delete server; });
    return true;
  }();
  (void)registered;
  return *server;
}

}  // namespace dd::testing
