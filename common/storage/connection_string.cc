#include "common/storage/connection_string.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include <libpq-fe.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dd::storage {
namespace {

struct ParsedOption {
  bool set_in_string = false;
  const char* environment_variable = nullptr;  // Null when libpq reads none for the keyword.
};

bool IsAsciiAlnum(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c));
}

bool IsUri(const std::string& connection_string) {
  return absl::StartsWith(connection_string, "postgresql://") ||
         absl::StartsWith(connection_string, "postgres://");
}

}  // namespace

absl::StatusOr<std::string> WithConnectionDefaults(std::string_view connection_string,
                                                   const ConnectionSettings& defaults) {
  const std::string text(connection_string);
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options(
      PQconninfoParse(text.c_str(), &error), PQconninfoFree);
  if (options == nullptr) {
    std::string reason = error != nullptr ? error : "out of memory";
    if (error != nullptr) PQfreemem(error);
    while (!reason.empty() && reason.back() == '\n')
      reason.pop_back();
    return absl::InvalidArgumentError(
        absl::StrCat("the database connection string does not parse: ", reason));
  }
  absl::flat_hash_map<std::string_view, ParsedOption> keywords;
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    keywords[option->keyword] = {option->val != nullptr, option->envvar};
  }

  std::string result = text;
  bool uri_has_query = IsUri(text) && absl::StrContains(text, '?');
  for (const auto& [keyword, value] : defaults) {
    auto found = keywords.find(keyword);
    if (found == keywords.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", keyword, "\" is not a libpq connection setting"));
    }
    const ParsedOption& option = found->second;
    if (option.set_in_string) continue;
    if (option.environment_variable != nullptr && std::getenv(option.environment_variable)) {
      continue;
    }
    if (value.empty() || !std::all_of(value.begin(), value.end(), IsAsciiAlnum)) {
      // Anything else would need quoting in one form and percent-encoding in the other.
      return absl::InvalidArgumentError(absl::StrCat("default database setting ", keyword, "=\"",
                                                     value, "\" is not letters and digits"));
    }
    if (IsUri(text)) {
      absl::StrAppend(&result, uri_has_query ? "&" : "?", keyword, "=", value);
      uri_has_query = true;
    } else {
      absl::StrAppend(&result, result.empty() ? "" : " ", keyword, "=", value);
    }
  }
  return result;
}

}  // namespace dd::storage
