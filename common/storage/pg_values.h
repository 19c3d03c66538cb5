// Values as the repositories pass them to and read them from libpqxx: bytes for bytea
// parameters, and timestamps, which every query selects as `extract(epoch from ...)`, so that
// they do not depend on the server's TimeZone or DateStyle.
#pragma once

#include <string>

#include <pqxx/binarystring>
#include <pqxx/field>

#include "absl/time/time.h"

namespace dd::storage {

// A bytea parameter holding `bytes`.
pqxx::binarystring Bytes(const std::string& bytes);

// A field selected as `extract(epoch from <timestamptz>)`, to the microsecond.
absl::Time TimeFromEpoch(const pqxx::field& field);

}  // namespace dd::storage
