#include "common/text/quoted.h"

#include <algorithm>

namespace dd {
namespace {

// The length of the well-formed UTF-8 character (RFC 3629: no overlong forms, no surrogates, at
// most U+10FFFF) that starts `text`, or 0 where none does.
size_t Utf8CharLength(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto continuation = [&](size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // Overlong.
    if (lead == 0xED && byte(1) >= 0xA0) return 0;  // UTF-16 surrogate.
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;   // Overlong.
    if (lead == 0xF4 && byte(1) >= 0x90) return 0;  // Beyond U+10FFFF.
    return 4;
  }
  return 0;
}

void AppendHexEscape(unsigned char byte, std::string& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0xF];
}

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
  for (size_t i = 0; i < shown;) {
    const unsigned char byte = static_cast<unsigned char>(value[i]);
    const size_t length = Utf8CharLength(value.substr(i, shown - i));
    if (length > 1) {
      out.append(value.substr(i, length));
      i += length;
      continue;
    }
    ++i;
    switch (byte) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (length == 0 || byte < 0x20 || byte == 0x7F) {
          AppendHexEscape(byte, out);
        } else {
          out += static_cast<char>(byte);
        }
    }
  }
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
