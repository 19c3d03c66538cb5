#include "services/shared/tls_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain this process presents: a server serves gRPC over TLS with it "
          "(and --tls_key_file), and every process shows it to servers that require client "
          "certificates. Empty: none. Reread every minute, so renewed certificates need no "
          "restart.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file.");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA certificates: call the other services over TLS, accepting only server "
          "certificates they signed that name the host called. Empty: plaintext calls.");

namespace dd {

TlsFiles ClientTlsFilesFromFlags() {
  TlsFiles files;
  files.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  files.key_file = absl::GetFlag(FLAGS_tls_key_file);
  files.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  return files;
}

absl::StatusOr<ClientChannelOptions> ClientChannelOptionsFromFlags() {
  auto credentials = ChannelCredentialsFor(ClientTlsFilesFromFlags());
  if (!credentials.ok()) return credentials.status();
  ClientChannelOptions options;
  options.credentials = *std::move(credentials);
  return options;
}

}  // namespace dd
