# shellcheck shell=bash
# Shared settings and helpers for the lab scripts (sourced, never run).
# Kept small and fork-free on the hot path: lab/exec sources it hundreds of
# times per test run.

# LAB_BACKEND: fuse (zfs-fuse in a systemd-nspawn container, the default) or
# openzfs (the OpenZFS 2.3 kernel module in a QEMU guest, lab/openzfs/).
LAB_BACKEND=${LAB_BACKEND:-fuse}
LAB_LIB_DIR=${BASH_SOURCE[0]%/*}
case $LAB_BACKEND in
  fuse) LAB_NAME=${LAB_NAME:-vmstate-lab} ;;
  openzfs)
    # The pair on OpenZFS is one guest (lab/README.md, "The pair on OpenZFS"):
    # vmstate-lab is its lab side (the pool microvms), vmstate-peer its peer
    # side (the pool microvms-peer, the peer's vm-state config and host name).
    # Both names mean the guest vmstate-openzfs, LAB_SIDE which side of it.
    case ${LAB_NAME:-} in
      vmstate-lab) LAB_NAME=vmstate-openzfs LAB_SIDE=lab ;;
      vmstate-peer) LAB_NAME=vmstate-openzfs LAB_SIDE=peer ;;
      '') LAB_NAME=vmstate-openzfs LAB_SIDE=${LAB_SIDE:-lab} ;;
      *) LAB_SIDE=${LAB_SIDE:-lab} ;;
    esac
    [[ $LAB_SIDE == lab || $LAB_SIDE == peer ]] ||
      { printf 'lab: LAB_SIDE must be lab or peer, not %s\n' "$LAB_SIDE" >&2; exit 2; }
    export LAB_SIDE
    ;;
  *)
    printf 'lab: LAB_BACKEND must be fuse or openzfs, not %s\n' "$LAB_BACKEND" >&2
    exit 2
    ;;
esac
LAB_RUN_DIR=${LAB_RUN_DIR:-/run/vmstate-lab/$LAB_NAME}
LAB_CACHE_DIR=${LAB_CACHE_DIR:-/var/cache/vmstate-lab}
# Two labs side by side (lab/README.md, "Two labs"): the one host directory
# every fuse lab binds at /run/vmstate-peers, where each one's sshd listens on
# <LAB_NAME>.sock: the only link between labs (their networks are private).
LAB_PEERS_DIR=${LAB_PEERS_DIR:-/run/vmstate-lab/peers}
# ssh keys per lab name, made once on the host and kept across restarts.
LAB_KEYS_DIR=${LAB_KEYS_DIR:-$LAB_CACHE_DIR/ssh}
# The PATH every entered command gets (the host's may point at pyenv, cargo...).
LAB_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

lab_die() {
  printf 'lab: %s\n' "$*" >&2
  exit 1
}

lab_say() {
  printf 'lab[%s]: %s\n' "$LAB_NAME" "$*" >&2
}

# Sets REPLY to field 22 of /proc/PID/stat (start time in clock ticks since
# boot), read with builtins only. Pairs with the pid to detect pid reuse.
lab_starttime() {
  local stat rest
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  rest=${stat##*) } # comm may hold spaces: cut after the last ") "
  # shellcheck disable=SC2086 # word splitting of the stat fields is the point
  set -- $rest
  REPLY=${20}
}

# True if pid $1 is alive with comm $2.
lab_is() {
  local comm
  read -r comm 2>/dev/null <"/proc/$1/comm" || return 1
  [[ $comm == "$2" ]]
}

# Sets LAB_LEADER to the host pid of the container's PID 1 (its systemd),
# using the cache file "$LAB_RUN_DIR/leader" ("pid starttime") and refreshing
# it when stale. No fork on the cached path.
lab_leader() {
  local pid start nspawn
  LAB_LEADER=
  if read -r pid start 2>/dev/null <"$LAB_RUN_DIR/leader" &&
    lab_starttime "$pid" && [[ $REPLY == "$start" ]]; then
    LAB_LEADER=$pid
    return 0
  fi
  read -r nspawn 2>/dev/null <"$LAB_RUN_DIR/nspawn.pid" || return 1
  lab_is "$nspawn" systemd-nspawn || return 1
  # /proc/PID/task/*/children is not compiled into this kernel: ask pgrep.
  pid=$(pgrep -P "$nspawn" -x systemd) || return 1
  pid=${pid%%$'\n'*}
  lab_starttime "$pid" || return 1
  # Atomic replace: lab/exec runs concurrently in parallel tests.
  printf '%s %s\n' "$pid" "$REPLY" >"$LAB_RUN_DIR/leader.$$" &&
    mv -f "$LAB_RUN_DIR/leader.$$" "$LAB_RUN_DIR/leader"
  LAB_LEADER=$pid
}

# The environment an entered command starts with: clean (the host's points at
# files that are not in the container, e.g. NODE_EXTRA_CA_CERTS makes node warn
# on stderr), plus the few variables a test may mean to pass through.
lab_env() {
  local -n _out=$1
  local v
  _out=(PATH="$LAB_PATH" HOME=/root USER=root LOGNAME=root LANG=C.UTF-8)
  for v in TERM NO_COLOR FORCE_COLOR COLUMNS LINES; do
    [[ -n ${!v+x} ]] && _out+=("$v=${!v}")
  done
  for v in ${!VM_STATE_@}; do
    _out+=("$v=${!v}")
  done
  return 0
}

# Runs "$@" inside the lab as a replacement for this process, stdio passed
# through, with the command's status (or its fatal signal re-raised).
# fuse: nsenter forks into the container's pid namespace.
# openzfs: the guest agent client (lab/openzfs/qga.cjs) through the lab's
# agent multiplexer; it reads standard input to its end first.
lab_nsenter_exec() {
  local env
  lab_env env
  if [[ $LAB_BACKEND == openzfs ]]; then
    # The peer side: its vm-state config (unless the caller names one), in
    # its UTS namespace (host name vmstate-peer), as its sshd's sessions.
    if [[ $LAB_SIDE == peer ]]; then
      [[ -n ${VM_STATE_CONFIG+x} ]] || env+=(VM_STATE_CONFIG=/etc/vm-state-peer/config.json)
      set -- /usr/bin/nsenter --uts=/run/vmstate-peer/uts -- "$@"
    fi
    # The host's node (from PATH) runs the client, in a clean environment.
    exec /usr/bin/env -i PATH="$PATH" node "$LAB_LIB_DIR/openzfs/qga.cjs" exec \
      "$LAB_RUN_DIR/mux.sock" "${#env[@]}" "${env[@]}" "$@"
  fi
  lab_leader || lab_die "lab '$LAB_NAME' is not up (run lab/up)"
  exec /usr/bin/env -i "${env[@]}" /usr/bin/nsenter -t "$LAB_LEADER" -a --wdns=/ -- "$@"
}
