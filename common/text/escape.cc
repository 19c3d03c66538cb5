#include "common/text/escape.h"

namespace dd {
namespace {

void AppendHex(std::string& out, const char* prefix, unsigned char byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += prefix;
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0xF];
}

}  // namespace

size_t Utf8CharLength(std::string_view text) {
  if (text.empty()) return 0;
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

void AppendEscaped(std::string& out, std::string_view text, EscapeStyle style) {
  const bool json = style == EscapeStyle::kJson;
  for (size_t i = 0; i < text.size();) {
    const size_t length = Utf8CharLength(text.substr(i));
    const unsigned char byte = static_cast<unsigned char>(text[i]);
    if (length > 1) {
      out.append(text.substr(i, length));
      i += length;
      continue;
    }
    ++i;
    if (length == 0) {
      if (json) {
        out += "\xEF\xBF\xBD";  // U+FFFD, the replacement character.
      } else {
        AppendHex(out, "\\x", byte);
      }
      continue;
    }
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
        if (byte < 0x20 || (!json && byte == 0x7F)) {
          AppendHex(out, json ? "\\u00" : "\\x", byte);
        } else {
          out += static_cast<char>(byte);
        }
    }
  }
}

}  // namespace dd
