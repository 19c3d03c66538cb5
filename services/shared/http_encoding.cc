#include "services/shared/http_encoding.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace dd {

std::string WithoutBrotli(const std::string& accept_encoding) {
  std::vector<std::string> kept;
  for (absl::string_view coding : absl::StrSplit(accept_encoding, ',')) {
    // cpp-httplib picks Brotli for "br" anywhere in the header, so any coding holding it goes
    // (no registered coding but br itself does).
    if (!absl::StrContains(absl::AsciiStrToLower(coding), "br")) {
      kept.emplace_back(absl::StripAsciiWhitespace(coding));
    }
  }
  return absl::StrJoin(kept, ", ");
}

}  // namespace dd
