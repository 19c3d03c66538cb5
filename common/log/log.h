// Structured logging: one JSON object per line on stderr, so that log shippers (Kubernetes,
// journald, Loki...) can index fields without parsing free text. Dependency-free on purpose: the
// LibTorch-only critic build uses it too.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace dd::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// A key and an already JSON-encoded value.
class Field {
 public:
  Field(std::string_view key, std::string_view value);
  Field(std::string_view key, const char* value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, const std::string& value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, bool value);
  Field(std::string_view key, int value) : Field(key, std::to_string(value), kRaw) {}
  Field(std::string_view key, unsigned value) : Field(key, std::to_string(value), kRaw) {}
  Field(std::string_view key, long value) : Field(key, std::to_string(value), kRaw) {}
  Field(std::string_view key, unsigned long value) : Field(key, std::to_string(value), kRaw) {}
  Field(std::string_view key, long long value) : Field(key, std::to_string(value), kRaw) {}
  Field(std::string_view key, unsigned long long value) : Field(key, std::to_string(value), kRaw) {}
  Field(std::string_view key, double value);
  // A value that is already JSON, such as an object the caller built with JsonString's help.
  static Field Json(std::string_view key, std::string json_value) {
    return Field(key, std::move(json_value), kRaw);
  }

  const std::string& key() const { return key_; }
  const std::string& json_value() const { return json_value_; }

 private:
  enum RawJson { kRaw };
  Field(std::string_view key, std::string json_value, RawJson)
      : key_(key), json_value_(std::move(json_value)) {}
  std::string key_;
  std::string json_value_;
};

// Process-wide settings, set once at start-up by main().
void SetMinLevel(Level level);
// Parses "debug", "info", "warning" or "error"; returns false on anything else.
bool ParseLevel(std::string_view text, Level* level);
// Added as "component" to every line, e.g. the service name.
void SetComponent(std::string_view component);
// Whether a line at `level` would be written; for callers whose fields cost work to build.
bool Enabled(Level level);

// Fields as a span, for lines whose fields depend on the case (some present only sometimes).
void Emit(Level level, std::string_view event, std::span<const Field> fields);
inline void Emit(Level level, std::string_view event, std::initializer_list<Field> fields) {
  Emit(level, event, std::span<const Field>(fields.begin(), fields.size()));
}

// `text` as a JSON string: quoted, with quotes, backslashes and control characters escaped. For
// the few small JSON bodies written by hand (a probe's answer).
std::string JsonString(std::string_view text);

// Formats one line without writing it; exposed for tests.
std::string FormatLine(Level level, std::string_view event, std::span<const Field> fields);
inline std::string FormatLine(Level level, std::string_view event,
                              std::initializer_list<Field> fields) {
  return FormatLine(level, event, std::span<const Field>(fields.begin(), fields.size()));
}

inline void Debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  Emit(Level::kDebug, event, fields);
}
inline void Info(std::string_view event, std::initializer_list<Field> fields = {}) {
  Emit(Level::kInfo, event, fields);
}
inline void Warning(std::string_view event, std::initializer_list<Field> fields = {}) {
  Emit(Level::kWarning, event, fields);
}
inline void Error(std::string_view event, std::initializer_list<Field> fields = {}) {
  Emit(Level::kError, event, fields);
}

}  // namespace dd::log
