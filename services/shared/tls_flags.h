// The TLS flags every process that calls our services shares (servers, the gateway, ddsim):
// --tls_ca_file, --tls_cert_file and --tls_key_file. Servers add --tls_client_ca_file
// (service_main.cc). Apart from service_main so that a client links only these.
#pragma once

#include "absl/status/statusor.h"
#include "services/shared/client_channel.h"
#include "services/shared/tls.h"

namespace dd {

// cert_file, key_file and ca_file from the flags; client_ca_file is left empty.
TlsFiles ClientTlsFilesFromFlags();

// Options for the channels to the other services: TLS when --tls_ca_file is set (presenting
// --tls_cert_file when set), the rest at ClientChannelOptions' defaults. INVALID_ARGUMENT when a
// file is missing or is not what its flag says.
absl::StatusOr<ClientChannelOptions> ClientChannelOptionsFromFlags();

}  // namespace dd
