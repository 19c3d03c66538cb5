#include "common/text/exact_number.h"

#include <charconv>
#include <system_error>

namespace dd {
namespace {

template <typename Number>
std::string Shortest(Number value) {
  // 32 characters hold any double's shortest form ("-2.2250738585072014e-308" is 24).
  char buffer[32];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (result.ec != std::errc()) return "?";
  return std::string(buffer, result.ptr);
}

}  // namespace

std::string ExactNumber(double value) {
  return Shortest(value);
}
std::string ExactNumber(float value) {
  return Shortest(value);
}

}  // namespace dd
