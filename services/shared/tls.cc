#include "services/shared/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dd {
namespace {

// Reads `path` and checks that it holds a PEM block whose label ends with `label`
// ("CERTIFICATE", "PRIVATE KEY"); `flag` names the setting in the message.
absl::Status CheckPemFile(const std::string& path, const char* flag, const char* label) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, ": cannot be read (", std::strerror(errno), ")"));
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!absl::StrContains(text, "-----BEGIN ") ||
      !absl::StrContains(text, absl::StrCat(label, "-----"))) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, ": no PEM ", label, " in it"));
  }
  return absl::OkStatus();
}

unsigned RefreshSeconds(const TlsFiles& files) {
  return static_cast<unsigned>(std::max<int64_t>(1, absl::ToInt64Seconds(files.reload_interval)));
}

}  // namespace

absl::Status ValidateTlsFiles(const TlsFiles& files) {
  if (files.cert_file.empty() != files.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file go together: give both or neither");
  }
  if (!files.client_ca_file.empty() && files.cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca_file needs --tls_cert_file and --tls_key_file: a server that checks "
        "its clients' certificates must present one of its own");
  }
  if (files.reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the TLS files' reload interval must be at least 1s, got ",
                     absl::FormatDuration(files.reload_interval)));
  }
  if (!files.cert_file.empty()) {
    if (absl::Status s = CheckPemFile(files.cert_file, "tls_cert_file", "CERTIFICATE"); !s.ok())
      return s;
    if (absl::Status s = CheckPemFile(files.key_file, "tls_key_file", "PRIVATE KEY"); !s.ok())
      return s;
  }
  if (!files.client_ca_file.empty()) {
    if (absl::Status s = CheckPemFile(files.client_ca_file, "tls_client_ca_file", "CERTIFICATE");
        !s.ok())
      return s;
  }
  if (!files.ca_file.empty()) {
    if (absl::Status s = CheckPemFile(files.ca_file, "tls_ca_file", "CERTIFICATE"); !s.ok())
      return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const TlsFiles& files) {
  if (absl::Status s = ValidateTlsFiles(files); !s.ok()) return s;
  if (files.cert_file.empty()) return grpc::InsecureServerCredentials();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.client_ca_file, RefreshSeconds(files));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (files.client_ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFor(
    const TlsFiles& files) {
  if (absl::Status s = ValidateTlsFiles(files); !s.ok()) return s;
  if (files.ca_file.empty()) return grpc::InsecureChannelCredentials();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.ca_file, RefreshSeconds(files));
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  if (!files.cert_file.empty()) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace dd
