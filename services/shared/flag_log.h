// The flags a server was started with, for its first log line: what a pod runs with can be read
// from its logs, without its manifest or the image's defaults at hand.
#pragma once

#include <string>
#include <string_view>

namespace dd {

// `value` with any password in it masked: libpq's `password=...` and the `user:password@` of a
// postgresql:// URI (a --database flag may hold either).
std::string MaskPasswords(std::string_view value);

// A JSON object of this program's flags (those defined under services/) whose value differs
// from their default, by name, values masked; "{}" when none does.
std::string ChangedFlagsJson();

}  // namespace dd
