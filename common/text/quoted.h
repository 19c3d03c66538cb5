// A caller's value quoted in an error message, escaped and of bounded length.
//
// Callers' strings can be of any length and hold any bytes, and a gRPC status travels in a header
// that clients cap (8 KB by default): a message quoting a 10 KB sample id reached the client as
// RESOURCE_EXHAUSTED "received initial metadata size exceeds limit", the real error lost.
// Dependency-free, so that the LibTorch-only critic library can use it too.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dd {

// How much of a value an error message quotes by default: more than any id, name or path a
// caller means to send, little enough that a message quoting several stays small.
inline constexpr size_t kQuotedValueBytes = 96;

// `value` in double quotes, with quotes, backslashes, control characters and bytes that are not
// UTF-8 escaped as in C ("\n", "\x7f"), so the message shows exactly what was sent and stays
// valid UTF-8. A value longer than `max_bytes` is cut at a character boundary and its length
// given: "xxxx…" (10000 bytes).
std::string Quoted(std::string_view value, size_t max_bytes = kQuotedValueBytes);

// `message` as it is when it has at most `max_bytes`; otherwise its first `max_bytes` at most, cut
// at a character boundary, and a note of the cut ("… [cut from 5000 bytes]").
std::string BoundedMessage(std::string_view message, size_t max_bytes);

// The same for other string types with data() and size(): Debian's absl::string_view is not
// std::string_view.
template <typename Text>
requires requires(const Text& text) {
  std::string_view(text.data(), text.size());
}
std::string Quoted(const Text& value, size_t max_bytes = kQuotedValueBytes) {
  return Quoted(std::string_view(value.data(), value.size()), max_bytes);
}
template <typename Text>
requires requires(const Text& text) {
  std::string_view(text.data(), text.size());
}
std::string BoundedMessage(const Text& message, size_t max_bytes) {
  return BoundedMessage(std::string_view(message.data(), message.size()), max_bytes);
}

}  // namespace dd
