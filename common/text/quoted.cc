#include "common/text/quoted.h"

#include <algorithm>

#include "common/text/escape.h"

namespace dd {
namespace {

// The longest prefix of `text` of at most `max_bytes` that ends between two characters (where a
// character is a well-formed UTF-8 sequence or a single stray byte).
size_t CharBoundaryAtOrBefore(std::string_view text, size_t max_bytes) {
  size_t end = 0;
  while (end < text.size()) {
    const size_t length = std::max<size_t>(1, Utf8CharLength(text.substr(end)));
    if (end + length > max_bytes) break;
    end += length;
  }
  return end;
}

}  // namespace

std::string Quoted(std::string_view value, size_t max_bytes) {
  const size_t shown =
      value.size() > max_bytes ? CharBoundaryAtOrBefore(value, max_bytes) : value.size();
  std::string out = "\"";
  AppendEscaped(out, value.substr(0, shown), EscapeStyle::kC);
  if (shown < value.size()) {
    out += "\xE2\x80\xA6\" (";  // An ellipsis.
    out += std::to_string(value.size());
    out += " bytes)";
  } else {
    out += '"';
  }
  return out;
}

std::string BoundedMessage(std::string_view message, size_t max_bytes) {
  if (message.size() <= max_bytes) return std::string(message);
  std::string out(message.substr(0, CharBoundaryAtOrBefore(message, max_bytes)));
  out += "\xE2\x80\xA6 [cut from ";
  out += std::to_string(message.size());
  out += " bytes]";
  return out;
}

}  // namespace dd
