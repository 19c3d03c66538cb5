#include "tests/support/test_certificates.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace dd::testing {

TestCertificates::TestCertificates() {
  const std::string in = "cd '" + dir_.path().string() + "' && ";
  // P-256 keys: quick to make, and every TLS stack takes them.
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  for (const std::string ca : {"ca", "other-ca"}) {
    Run(in + "openssl req -x509 " + key + " -keyout " + ca + ".key -out " + ca +
        ".pem -days 2 -subj /CN=dd-test-" + ca);
  }
  {
    std::ofstream server_ext(dir_.path() / "server.ext");
    server_ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                  "extendedKeyUsage=serverAuth,clientAuth\n";
    std::ofstream client_ext(dir_.path() / "client.ext");
    client_ext << "extendedKeyUsage=clientAuth\n";
  }
  for (const std::string leaf : {"server", "client"}) {
    Run(in + "openssl req " + key + " -keyout " + leaf + ".key -out " + leaf +
        ".csr -subj /CN=dd-test-" + leaf);
    Run(in + "openssl x509 -req -in " + leaf + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial " +
        "-days 2 -extfile " + leaf + ".ext -out " + leaf + ".pem");
  }
}

void TestCertificates::Run(const std::string& command) {
  if (!error_.empty()) return;
  const std::string quiet = command + " > '" + (dir_.path() / "openssl.log").string() + "' 2>&1";
  if (std::system(quiet.c_str()) != 0) {
    std::ifstream log(dir_.path() / "openssl.log");
    error_ = "failed: " + command + "\n" +
             std::string(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
  }
}

}  // namespace dd::testing
