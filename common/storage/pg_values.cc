#include "common/storage/pg_values.h"

#include <cmath>
#include <cstdint>

namespace dd::storage {

pqxx::binarystring Bytes(const std::string& bytes) {
  return pqxx::binarystring(bytes.data(), bytes.size());
}

absl::Time TimeFromEpoch(const pqxx::field& field) {
  return absl::FromUnixMicros(static_cast<int64_t>(std::llround(field.as<double>() * 1e6)));
}

}  // namespace dd::storage
