#include "common/log/log.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "common/text/escape.h"

namespace dd::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::mutex g_mutex;  // Guards the component and serialises writes so lines never interleave.

// Never destroyed: library threads (gRPC's) may still log while the process exits.
std::string& Component() {
  static std::string& component = *new std::string();
  return component;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  AppendEscaped(out, text, EscapeStyle::kJson);
  out.push_back('"');
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

}  // namespace

std::string JsonString(std::string_view text) {
  std::string quoted;
  AppendJsonString(quoted, text);
  return quoted;
}

Field::Field(std::string_view key, std::string_view value) : key_(key) {
  AppendJsonString(json_value_, value);
}
Field::Field(std::string_view key, bool value) : key_(key), json_value_(value ? "true" : "false") {}
Field::Field(std::string_view key, double value) : key_(key) {
  if (!std::isfinite(value)) {
    json_value_ = "null";  // JSON has no NaN or infinity.
    return;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  json_value_ = buffer;
}

void SetMinLevel(Level level) {
  g_min_level.store(static_cast<int>(level));
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

bool ParseLevel(std::string_view text, Level* level) {
  for (Level candidate : {Level::kDebug, Level::kInfo, Level::kWarning, Level::kError}) {
    if (text == LevelName(candidate)) {
      *level = candidate;
      return true;
    }
  }
  return false;
}

void SetComponent(std::string_view component) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Component() = std::string(component);
}

std::string FormatLine(Level level, std::string_view event, std::span<const Field> fields) {
  std::string line;
  line.reserve(128);
  line += "{\"ts\":\"";
  line += Timestamp();
  line += "\",\"level\":\"";
  line += LevelName(level);
  line += "\"";
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!Component().empty()) {
      line += ",\"component\":";
      AppendJsonString(line, Component());
    }
  }
  line += ",\"event\":";
  AppendJsonString(line, event);
  for (const Field& field : fields) {
    line.push_back(',');
    AppendJsonString(line, field.key());
    line.push_back(':');
    line += field.json_value();
  }
  line += "}\n";
  return line;
}

void Emit(Level level, std::string_view event, std::span<const Field> fields) {
  if (!Enabled(level)) return;
  const std::string line = FormatLine(level, event, fields);
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace dd::log
