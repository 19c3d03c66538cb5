// Text from outside (a caller's id, a file name, a header) written into an error message or a
// log line so that it shows what it holds and keeps the line readable and valid UTF-8: quotes,
// backslashes and control characters escaped, and bytes that are not well-formed UTF-8 too.
// Dependency-free, so that the logger and the LibTorch-only critic library can use it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dd {

enum class EscapeStyle {
  kC,     // \" \\ \n \r \t, and \xHH for other control characters and for stray bytes.
  kJson,  // \" \\ \n \r \t, \u00HH for other control characters, and U+FFFD for a stray byte
          // (JSON strings cannot hold one); a JSON string's contents, without its quotes.
};

// Appends `text` to `out`, escaped in `style`. Characters of well-formed UTF-8 stay as they are.
void AppendEscaped(std::string& out, std::string_view text, EscapeStyle style);

// The length of the well-formed UTF-8 character (RFC 3629) that starts `text`, or 0 where none
// does (a stray continuation byte, an overlong form, a surrogate, a sequence cut short).
size_t Utf8CharLength(std::string_view text);

}  // namespace dd
