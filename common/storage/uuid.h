// The ids the storage layer hands out are PostgreSQL UUIDs; checking their text form first turns a
// malformed id into INVALID_ARGUMENT instead of a database error.
#pragma once

#include <string_view>

namespace dd::storage {

// True for the canonical 36-character form, e.g. 123e4567-e89b-12d3-a456-426614174000.
bool IsUuid(std::string_view text);

}  // namespace dd::storage
