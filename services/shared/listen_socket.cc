#include "services/shared/listen_socket.h"

#include <sys/socket.h>

#include <httplib.h>

#include "absl/strings/str_cat.h"

namespace dd {

void BindPortsExclusively(httplib::Server& server) {
  server.set_socket_options([](socket_t socket) {
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
}

absl::Status CannotListen(std::string_view what, std::string_view host, int port) {
  return absl::UnavailableError(
      absl::StrCat("cannot ", absl::string_view(what.data(), what.size()), " on ",
                   absl::string_view(host.data(), host.size()), ":", port,
                   " (another process listens on the port, or the address is not this "
                   "machine's)"));
}

}  // namespace dd
