#include "common/storage/text_field.h"

#include "absl/strings/str_cat.h"

namespace dd::storage {

absl::Status ValidateStoredText(std::string_view value, const std::string& field,
                                size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", value.size(), " bytes long; the limit is ", max_bytes));
  }
  if (const size_t nul = value.find('\0'); nul != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " contains a NUL character (byte ", nul, "), which cannot be stored"));
  }
  return absl::OkStatus();
}

}  // namespace dd::storage
