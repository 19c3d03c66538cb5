// What was built: the project's version and the git commit of the sources, for --version, the
// server.listening log line and the dd_build_info metric, so that an operator can tell which
// build each pod runs.
#pragma once

#include <string_view>

namespace dd {

// The project's version (CMakeLists.txt), e.g. "0.1.0".
std::string_view BuildVersion();
// The sources' commit, 12 hex digits, with "-dirty" when tracked files had changes; "unknown"
// when the sources were not a git checkout (e.g. a container build without .git).
std::string_view BuildCommit();

}  // namespace dd
