#include "services/shared/library_logs.h"

#include <string>

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include "common/log/log.h"

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

void GrpcLine(gpr_log_func_args* args) {
  const log::Level level = FromGrpc(args->severity);
  if (!log::Enabled(level)) return;
  log::Emit(level, "grpc.log",
            {{"file", args->file != nullptr ? args->file : ""},
             {"line", args->line},
             {"message", args->message != nullptr ? args->message : ""}});
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
  const log::Level ours = FromProtobuf(level);
  if (!log::Enabled(ours)) return;
  log::Emit(ours, "protobuf.log",
            {{"file", file != nullptr ? file : ""}, {"line", line}, {"message", message}});
}

}  // namespace

void RouteLibraryLogsToJson() {
  gpr_set_log_function(&GrpcLine);
  google::protobuf::SetLogHandler(&ProtobufLine);
}

}  // namespace dd
