// Client-supplied text that the storage layer keeps (names, idempotency keys, example ids) must be
// checked before it reaches PostgreSQL: libpq passes parameters as C strings, so a NUL would cut
// the value short and two keys differing only after it would collide, and a long key overflows
// its unique index's entry (an INTERNAL database error instead of the caller's mistake).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace dd::storage {

// The limit for every key and label the API stores: ample for UUIDs and client-made keys, and
// far below what a btree index entry can hold.
inline constexpr size_t kMaxStoredTextBytes = 200;

// INVALID_ARGUMENT naming `field` when `value` holds a NUL byte or is longer than `max_bytes`.
absl::Status ValidateStoredText(std::string_view value, const std::string& field,
                                size_t max_bytes = kMaxStoredTextBytes);

}  // namespace dd::storage
