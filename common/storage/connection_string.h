// libpq connection strings: checking one before it is used, and adding settings it leaves unset.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace dd::storage {

// (libpq keyword, value) pairs, e.g. {"connect_timeout", "10"}.
using ConnectionSettings = std::vector<std::pair<std::string, std::string>>;

// `connection_string` (key=value or postgresql:// URI form, or empty) with each of `defaults`
// added that neither the string nor the keyword's environment variable (PGCONNECT_TIMEOUT...)
// sets, so an operator's explicit choice always wins. INVALID_ARGUMENT with libpq's reason when
// the string does not parse or a default names no libpq keyword.
absl::StatusOr<std::string> WithConnectionDefaults(std::string_view connection_string,
                                                   const ConnectionSettings& defaults);

}  // namespace dd::storage
