#include "services/shared/library_logs.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "services/shared/call_log.h"

namespace dd {
namespace {

// The libraries' errors are most often about a peer (a failed handshake, a message that does not
// parse), and what fails the server itself also ends in one of its own lines: warning, not
// error, so that they do not page anyone by themselves.
log::Level FromGrpc(gpr_log_severity severity) {
  switch (severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      return log::Level::kDebug;
    case GPR_LOG_SEVERITY_INFO:
      return log::Level::kInfo;
    case GPR_LOG_SEVERITY_ERROR:
      return log::Level::kWarning;
  }
  return log::Level::kWarning;
}

// Lines from one place in a library, at most 20 a second: a port scanner's failed TLS handshakes
// should not fill the log. The libraries' hooks are plain functions, hence one throttle for the
// process, never destroyed: gRPC's threads may still log while the process exits.
bool Admitted(const char* file, int line, int64_t& suppressed) {
  static CallLogThrottle& throttle = *new CallLogThrottle(20);
  return throttle.Admit(absl::StrCat(file != nullptr ? file : "", ":", line), absl::Now(),
                        suppressed);
}

void EmitLibraryLine(log::Level level, const char* event, const char* file, int line,
                     std::string_view message) {
  if (!log::Enabled(level)) return;
  int64_t suppressed = 0;
  if (!Admitted(file, line, suppressed)) return;
  std::vector<log::Field> fields = {
      {"file", file != nullptr ? file : ""}, {"line", line}, {"message", message}};
  if (suppressed > 0) fields.emplace_back("suppressed", static_cast<long long>(suppressed));
  log::Emit(level, event, fields);
}

void GrpcLine(gpr_log_func_args* args) {
  EmitLibraryLine(FromGrpc(args->severity), "grpc.log", args->file, args->line,
                  args->message != nullptr ? args->message : "");
}

log::Level FromProtobuf(google::protobuf::LogLevel level) {
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      return log::Level::kInfo;
    case google::protobuf::LOGLEVEL_WARNING:
    case google::protobuf::LOGLEVEL_ERROR:
      return log::Level::kWarning;
    case google::protobuf::LOGLEVEL_FATAL:
      return log::Level::kError;  // The process aborts after it.
  }
  return log::Level::kWarning;
}

void ProtobufLine(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& message) {
  EmitLibraryLine(FromProtobuf(level), "protobuf.log", file, line, message);
}

}  // namespace

void RouteLibraryLogsToJson() {
  gpr_set_log_function(&GrpcLine);
  google::protobuf::SetLogHandler(&ProtobufLine);
}

}  // namespace dd
