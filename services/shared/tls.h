// Transport security from PEM files: TLS, or mutual TLS, on a gRPC server and on the channels a
// service opens to the others. Off by default: on a cluster whose service mesh already encrypts
// and authenticates pod-to-pod traffic, plaintext between the processes is what the mesh wants.
//
// The files are read again every `reload_interval`, so that renewed certificates (cert-manager,
// Vault agents rewriting a mounted Secret) take effect without a restart.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dd {

struct TlsFiles {
  // This process's certificate chain and private key (PEM), presented to its clients as a server
  // and to servers that ask for client certificates. Both or neither; with neither the server is
  // plaintext.
  std::string cert_file;
  std::string key_file;
  // CA certificates (PEM) that must have signed a client's certificate for it to connect (mutual
  // TLS). Empty: any client may connect over TLS without a certificate. Needs cert_file.
  std::string client_ca_file;
  // CA certificates (PEM) that the servers this process calls must have certificates from; set,
  // the calls use TLS and check that the certificate names the host called. Empty: plaintext.
  std::string ca_file;
  absl::Duration reload_interval = absl::Minutes(1);
};

// Checks that the files that are named exist and hold what they should (INVALID_ARGUMENT naming
// the flag and the file otherwise), and that they make sense together.
absl::Status ValidateTlsFiles(const TlsFiles& files);

// Server credentials: TLS with cert_file and key_file (requiring client certificates signed by
// client_ca_file when set), plaintext without them.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const TlsFiles& files);

// Channel credentials: TLS verified against ca_file when set (presenting cert_file and key_file
// when set), plaintext otherwise.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFor(
    const TlsFiles& files);

}  // namespace dd
