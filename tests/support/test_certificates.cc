#include "tests/support/test_certificates.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace dd::testing {

TestCertificates::TestCertificates() {
  const std::string make = std::string(DD_SOURCE_DIR) + "/deploy/local/make-certificates";
  const std::string dir = dir_.path().string();
  Run("'" + make + "' '" + dir + "' IP:127.0.0.1 DNS:localhost");
  Run("'" + make + "' '" + dir + "/other'");
}

void TestCertificates::Run(const std::string& command) {
  if (!error_.empty()) return;
  const std::string log = (dir_.path() / "make-certificates.log").string();
  if (std::system((command + " > '" + log + "' 2>&1").c_str()) != 0) {
    std::ifstream in(log);
    error_ = "failed: " + command + "\n" +
             std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
}

}  // namespace dd::testing
