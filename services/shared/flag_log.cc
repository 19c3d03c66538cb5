#include "services/shared/flag_log.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/log/log.h"

namespace dd {

std::string MaskPasswords(std::string_view value) {
  std::string out(value);
  // libpq keywords: password = value, the value bare or single-quoted with backslash escapes.
  for (size_t at = 0;
       (at = absl::AsciiStrToLower(out).find("password", at)) != std::string::npos;) {
    size_t i = at + std::string_view("password").size();
    while (i < out.size() && out[i] == ' ')
      ++i;
    if (i >= out.size() || out[i] != '=') {
      at = i;
      continue;
    }
    ++i;
    while (i < out.size() && out[i] == ' ')
      ++i;
    size_t end = i;
    if (end < out.size() && out[end] == '\'') {
      for (++end; end < out.size() && out[end] != '\''; ++end)
        end += out[end] == '\\' ? 1 : 0;
      end = std::min(out.size(), end + 1);
    } else {
      while (end < out.size() && out[end] != ' ')
        ++end;
    }
    out.replace(i, end - i, "***");
    at = i + 3;
  }
  // URIs: scheme://user:password@host...
  for (size_t at = 0; (at = out.find("://", at)) != std::string::npos;) {
    const size_t user = at + 3;
    const size_t authority_end = out.find_first_of("/?# ", user);
    const size_t at_sign =
        out.rfind('@', authority_end == std::string::npos ? out.size() - 1 : authority_end);
    if (at_sign != std::string::npos && at_sign >= user) {
      const size_t colon = out.find(':', user);
      if (colon != std::string::npos && colon < at_sign) {
        out.replace(colon + 1, at_sign - colon - 1, "***");
      }
    }
    at = user;
  }
  return out;
}

std::string ChangedFlagsJson() {
  std::vector<std::pair<std::string, std::string>> changed;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::StrContains(flag->Filename(), "services/")) continue;
    const std::string current = flag->CurrentValue();
    if (current == flag->DefaultValue()) continue;
    changed.emplace_back(std::string(name), MaskPasswords(current));
  }
  std::sort(changed.begin(), changed.end());
  std::string json = "{";
  for (const auto& [name, value] : changed) {
    if (json.size() > 1) json += ",";
    json += log::JsonString(name) + ":" + log::JsonString(value);
  }
  return json + "}";
}

}  // namespace dd
