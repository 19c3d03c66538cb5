// A throw-away public key infrastructure for TLS tests, made by deploy/local/make-certificates
// (openssl) in a temporary folder: a CA, a server certificate for 127.0.0.1 and localhost (both
// usages), a client certificate, both signed by the CA, and a second CA that signed neither.
#pragma once

#include <filesystem>
#include <string>

#include "tests/support/test_support.h"

namespace dd::testing {

class TestCertificates {
 public:
  TestCertificates();
  // Empty when the certificates could not be made (why() says).
  bool ok() const { return error_.empty(); }
  const std::string& why() const { return error_; }

  std::string ca() const { return File("ca.crt"); }
  std::string other_ca() const { return File("other/ca.crt"); }
  std::string server_cert() const { return File("server.crt"); }
  std::string server_key() const { return File("server.key"); }
  std::string client_cert() const { return File("client.crt"); }
  std::string client_key() const { return File("client.key"); }
  std::string dir() const { return dir_.path().string(); }

 private:
  std::string File(const std::string& name) const { return (dir_.path() / name).string(); }
  void Run(const std::string& command);
  TempDir dir_;
  std::string error_;
};

}  // namespace dd::testing
