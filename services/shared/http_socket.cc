#include "services/shared/http_socket.h"

#include <sys/socket.h>

#include <httplib.h>

namespace dd {

void BindPortsExclusively(httplib::Server& server) {
  server.set_socket_options([](socket_t socket) {
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
}

}  // namespace dd
