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

namespace {

size_t SkipSpaces(std::string_view text, size_t at) {
  while (at < text.size() && text[at] == ' ')
    ++at;
  return at;
}

// Where a libpq value that starts at `at` ends: a single-quoted one after its closing quote
// (backslash escapes inside), a bare one at the next space.
size_t ValueEnd(std::string_view text, size_t at) {
  if (at < text.size() && text[at] == '\'') {
    for (++at; at < text.size() && text[at] != '\''; ++at)
      at += text[at] == '\\' ? 1 : 0;
    return std::min(text.size(), at + 1);
  }
  while (at < text.size() && text[at] != ' ')
    ++at;
  return at;
}

// libpq keywords: password = value.
std::string MaskKeywordPasswords(std::string_view value) {
  constexpr std::string_view kKeyword = "password";
  // Debian's Abseil has a string_view of its own.
  const std::string lower = absl::AsciiStrToLower(absl::string_view(value.data(), value.size()));
  std::string out;
  size_t copied = 0;
  for (size_t at = lower.find(kKeyword); at != std::string::npos; at = lower.find(kKeyword, at)) {
    size_t i = SkipSpaces(value, at + kKeyword.size());
    if (i >= value.size() || value[i] != '=') {
      at = i;
      continue;
    }
    i = SkipSpaces(value, i + 1);
    out.append(value.substr(copied, i - copied));
    out += "***";
    copied = at = ValueEnd(value, i);
  }
  out.append(value.substr(copied));
  return out;
}

}  // namespace

std::string MaskPasswords(std::string_view value) {
  std::string out = MaskKeywordPasswords(value);
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
