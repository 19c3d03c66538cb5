# Shared by the local scripts: paths, ports and the build step.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${DD_BUILD_DIR:-$ROOT/build}"
RUN_DIR="$(realpath -m "${DD_RUN_DIR:-$ROOT/.run}")"
PG_PORT="${DD_PG_PORT:-55432}"
# name:port of every service that exists, in start order.
SERVICES=("render:${DD_RENDER_PORT:-50051}" "critic:${DD_CRITIC_PORT:-50052}"
          "generator:${DD_GENERATOR_PORT:-50053}" "session:${DD_SESSION_PORT:-50054}"
          "gateway:${DD_GATEWAY_PORT:-8080}")

# Flags for one service beyond host and port: where its peers are, the sample folder
# ($DD_SAMPLES, default: the bundled kit) that every service must share, and DD_<SERVICE>_FLAGS.
dd_service_args() {
  local name="$1"
  local args=()
  [[ -n "${DD_SAMPLES:-}" && "$name" != session && "$name" != gateway ]] &&
    args+=("--samples=$(realpath "$DD_SAMPLES")")
  case "$name" in
    generator) args+=("--critic=127.0.0.1:${DD_CRITIC_PORT:-50052}") ;;
    session) args+=("--critic=127.0.0.1:${DD_CRITIC_PORT:-50052}"
                    "--generator=127.0.0.1:${DD_GENERATOR_PORT:-50053}"
                    "--render=127.0.0.1:${DD_RENDER_PORT:-50051}") ;;
    gateway) args+=("--session=127.0.0.1:${DD_SESSION_PORT:-50054}") ;;
  esac
  # DD_TLS=1: mutual TLS between all of them, with the certificates dd_local_tls made. The
  # gateway's own HTTP stays plain; its flags secure its calls to dd-session.
  if [[ "${DD_TLS:-0}" == 1 ]]; then
    local tls="$RUN_DIR/tls"
    args+=("--tls_cert_file=$tls/server.crt" "--tls_key_file=$tls/server.key"
           "--tls_ca_file=$tls/ca.crt")
    [[ "$name" != gateway ]] && args+=("--tls_client_ca_file=$tls/ca.crt")
  fi
  # Anything else from DD_<SERVICE>_FLAGS, e.g. DD_CRITIC_FLAGS="--training_precision=float32",
  # split on spaces like a command line (flags with spaces inside are not supported).
  local extra_var="DD_${name^^}_FLAGS" extra=()
  read -r -a extra <<<"${!extra_var:-}"
  args+=("${extra[@]}")
  echo "${args[@]}"
}

# Why dd-<name> exited at start-up: this start's log lines (the log keeps earlier runs' too),
# and what to do when its port is someone else's.
dd_start_failed() {
  local name="$1" port="$2" log="$3" lines_before="$4"
  echo "dd-$name failed to start; its log ($log) says:" >&2
  tail -n +"$((lines_before + 1))" "$log" | tail -n 5 >&2
  if tail -n +"$((lines_before + 1))" "$log" | grep -q 'cannot listen on'; then
    echo "Port $port is taken by another program: stop it, or run up again with" \
      "DD_${name^^}_PORT=<a free port>." >&2
  fi
}

# For DD_TLS=1: a local CA and one certificate for 127.0.0.1 and localhost, used by every service
# as server and as client, made once in $RUN_DIR/tls (delete it for new ones). Clients of the
# gRPC API trust ca.crt and, since the servers require client certificates, present client.crt
# and client.key, made there as well.
dd_local_tls() {
  [[ -f "$RUN_DIR/tls/client.crt" ]] && return 0
  "$ROOT/deploy/local/make-certificates" "$RUN_DIR/tls" IP:127.0.0.1 DNS:localhost
}

dd_build() {
  "$ROOT/deploy/local/install-deps"
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DDD_WARNINGS_AS_ERRORS=ON
  fi
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

dd_pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$dir" ]] || { echo "PostgreSQL server binaries not found" >&2; return 1; }
  echo "$dir"
}

# PostgreSQL refuses to run as root; as root we run it as the 'postgres' system user.
dd_as_pg_user() {
  # From /, which that user can enter whatever the caller's folder (paths given are absolute).
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Sets PG_DATA and PG_SOCKET, PostgreSQL's data and socket folders: $RUN_DIR/postgres and
# $RUN_DIR/pg-socket. As root the server runs as 'postgres', which must be able to enter every
# folder above them; where it cannot (a checkout inside a private home or temporary folder), they
# live in /var/tmp/deepdrummer-<hash of $RUN_DIR>/ instead, the same one at every run.
dd_pg_dirs() {
  local base="$RUN_DIR"
  mkdir -p "$RUN_DIR"
  if ((EUID == 0)) && ! runuser -u postgres -- test -x "$RUN_DIR" 2>/dev/null; then
    base="/var/tmp/deepdrummer-$(printf '%s' "$RUN_DIR" | sha256sum | cut -c1-16)"
    mkdir -p "$base"
    chmod 755 "$base"
  fi
  PG_DATA="$base/postgres"
  PG_SOCKET="$base/pg-socket"
}

# Whether the pid in file $1 is alive and runs program $2 (dd-render, ...). A pid file outlives
# its process (a reboot, a crash), and the system may since have given that pid to another
# program, which stopping the service would otherwise kill.
dd_pid_alive() {
  local pid_file="$1" program="$2" pid argv0
  pid="$(cat "$pid_file" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  argv0=""
  IFS= read -r -d '' argv0 2>/dev/null <"/proc/$pid/cmdline" || true
  [[ "$(basename -- "$argv0")" == "$program" ]]
}

# Stops the program $2 whose pid file is $1, if it still runs; forgets the pid file either way.
dd_stop_pid() {
  local pid_file="$1" program="$2" pid
  dd_pid_alive "$pid_file" "$program" || { rm -f "$pid_file"; return 0; }
  pid="$(cat "$pid_file")"
  kill -TERM "$pid"
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$pid_file"
}
