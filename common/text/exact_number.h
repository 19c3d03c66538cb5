// Numbers in error messages, written so that they read back as exactly the value that was given.
//
// Default formatting (`%g`, absl::StrCat, std::ostream) keeps six significant digits, so a bpm of
// 300.0001 is reported as "bpm must be in [40, 300], got 300": an error that contradicts itself.
// Dependency-free, so that the LibTorch-only critic library can use it too.
#pragma once

#include <string>

namespace dd {

// The shortest decimal that parses back to `value` ("0.1", "300.0001", "1e-09", "nan", "-inf").
std::string ExactNumber(double value);
// The same for a float: 1.0000001f is "1.0000001", not its double expansion.
std::string ExactNumber(float value);

}  // namespace dd
