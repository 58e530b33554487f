# shellcheck shell=sh
# pidchain-reload.sh: what haproxy-handoff(8) and haproxy-master(8)
# share, said once. Not a command: each sources it (". pidchain-reload.sh",
# found in PATH, where it is installed beside them and the programs they
# call, and trusted as they are), once PROG is its name and RUNDIR set.

# The stats socket haproxy.cfg must put in RUNDIR, its second name while a
# new haproxy starts beside the serving one (see keep_socket), and the
# reload lock with its holder's pid.
SOCKET=$RUNDIR/admin.sock
SERVING_SOCKET=$RUNDIR/admin.sock.serving
LOCK=$RUNDIR/reload.lock
HOLDER=$RUNDIR/reload.pid

fail() {
  echo "$PROG: fatal: $*" >&2
  exit 1
}

fatal() {
  echo "$PROG: fatal: $*" >&2
  exit 111
}

# A setting refused: exit 100, before anything starts or is signalled.
refuse() {
  echo "$PROG: fatal: $1=$(shown "$2"): $3" >&2
  exit 100
}

# Bytes from the environment, printable.
shown() {
  printf '%s' "$1" | tr -c '[:print:]' '?'
}

# The settings both commands take, before anything is started or
# signalled.
haproxy_settings() {
  case $HAPROXY in
  /*) [ -f "$HAPROXY" ] && [ -x "$HAPROXY" ] ;;
  *) false ;;
  esac || refuse HAPROXY "$HAPROXY" "not the absolute path of an executable file"
  case $CONFIG in
  /*) [ -r "$CONFIG" ] && { [ -f "$CONFIG" ] || [ -d "$CONFIG" ]; } ;;
  *) false ;;
  esac || refuse CONFIG "$CONFIG" "not the absolute path of a readable file or directory"
  # Digits only, no leading zero: passed to programs that parse them so.
  case $TIMEOUT in
  '' | 0* | *[!0-9]* | ??????????*) refuse TIMEOUT "$TIMEOUT" "not a number of milliseconds from 1 to 999999999" ;;
  esac
}

# Fields of ls -ldn: the mode string and the owner's uid.
mode_and_owner() {
  # shellcheck disable=SC2046
  set -- $(ls -ldn -- "$1" 2>/dev/null)
  mode=${1-} uid=${3-}
}

# RUNDIR decides which process gets signalled, as root: it is made (mode
# 0700) when missing, and otherwise used only if it is a directory owned
# by the user this command runs as, writable by no one else, reached
# through no symlink of another user, and under directories of root or
# that user that others cannot write (or only in the sticky way of
# /tmp). Nothing is changed on an existing one: its mode is its owner's
# word.
trusted_rundir() {
  case $RUNDIR in
  /*) ;;
  *) refuse RUNDIR "$RUNDIR" "not an absolute path" ;;
  esac
  me=$(id -u) || exit 111
  if [ ! -e "$RUNDIR" ] && [ ! -L "$RUNDIR" ]; then
    (umask 077 && mkdir -p -- "$RUNDIR") 2>/dev/null || fatal "unable to create $(shown "$RUNDIR")"
  fi
  path='' rest=$RUNDIR
  while [ -n "$rest" ]; do
    part=${rest%%/*}
    rest=${rest#"$part"}
    rest=${rest#/}
    [ -n "$part" ] || continue
    path=$path/$part
    if [ -L "$path" ]; then
      mode_and_owner "$path"
      [ "$uid" = 0 ] || [ "$uid" = "$me" ] ||
        refuse RUNDIR "$RUNDIR" "$(shown "$path") is a symlink of user $uid"
    fi
  done
  real=$(cd -P -- "$RUNDIR" 2>/dev/null && pwd -P) ||
    refuse RUNDIR "$RUNDIR" "not a directory"
  mode_and_owner "$real"
  case $uid:$mode in
  "$me":d????-??-? | "$me":d????-??-?.) ;;
  "$me":d*) refuse RUNDIR "$RUNDIR" "writable by group or others, or with an access control list (mode $mode)" ;;
  *) refuse RUNDIR "$RUNDIR" "owned by user $uid, not $me" ;;
  esac
  dir=$real
  while [ "$dir" != / ]; do
    dir=${dir%/*}
    dir=${dir:-/}
    mode_and_owner "$dir"
    case $uid in 0 | "$me") ;; *) refuse RUNDIR "$RUNDIR" "$(shown "$dir") is owned by user $uid" ;; esac
    case $mode in
    ?????-??-?* | ?????????[tT]*) ;;
    *) refuse RUNDIR "$RUNDIR" "$(shown "$dir") is writable by group or others (mode $mode)" ;;
    esac
  done
}

# One reload at a time, and the step a reload runs apart (setsid) until
# it is done even when the reload was killed: the step keeps the
# descriptor. haproxy does not get it (9>&-).
lock() {
  exec 8>&2
  command exec 2>/dev/null 9>>"$LOCK" || { exec 2>&8; fatal "unable to open $LOCK"; }
  exec 2>&8 8>&-
  # Bounded by TIMEOUT for each holder: a reload behind a stuck one
  # fails, naming it; one behind reloads that each end in time waits its
  # turn.
  holder=$(cat "$HOLDER" 2>/dev/null)
  while :; do
    flock -E 75 -w "$(seconds "$TIMEOUT")" 9
    case $? in
    0) break ;;
    75) ;;
    *) exit 111 ;;
    esac
    was=$holder
    holder=$(cat "$HOLDER" 2>/dev/null)
    [ "$holder" != "$was" ] ||
      fail "$LOCK is still held after TIMEOUT ($TIMEOUT ms)${holder:+, by reload $holder}"
  done
  # Best effort: only a name for the message above.
  echo $$ 2>/dev/null >"$HOLDER" || :
}

# Milliseconds $1 in seconds, as flock takes them.
seconds() {
  echo "$(($1 / 1000)).$(($1 % 1000 / 100))$(($1 % 100 / 10))$(($1 % 10))"
}

# haproxy 2.4.0 does not take a stats socket over with -x (it looks for
# the path, which the serving process's socket is not bound to: haproxy
# binds a temporary name and renames it): a new haproxy started beside
# the serving one binds its own over SOCKET's path, which leads nowhere
# once it exits, and the next -x cannot fetch the listeners there. So
# SOCKET gets a second name first, to be put back.
keep_socket() {
  ln -f "$SOCKET" "$SERVING_SOCKET" 2>/dev/null ||
    fail "no stats socket at $SOCKET: haproxy.cfg must put it there"
}

# After a new haproxy that did not take over: SOCKET leads to the
# serving haproxy again.
put_socket_back() {
  # -ef is not POSIX; dash, bash, busybox ash, mksh and BSD sh have it.
  # shellcheck disable=SC3013
  if [ "$SOCKET" -ef "$SERVING_SOCKET" ]; then
    rm -f "$SERVING_SOCKET"
  else
    mv -f "$SERVING_SOCKET" "$SOCKET"
  fi || exit 111
}

# Whether the daemonized haproxy that wrote the pidfile $1 runs: it
# answers on SOCKET with its own pid, beside the haproxy whose listeners it
# took (-x). Neither the launcher's exit status nor the pidfile says so:
# haproxy 3.1.0's -D exits 0, and the pidfile is written (sometimes after
# -D exits), before the new process has parsed its configuration. Fails
# with 2 when it exited (it could not start), 4 when it did not answer in
# TIMEOUT (it is then told to finish), 111 on a system error.
answers() {
  started=$(pidfile-read -W 2000 "$1") || return 111
  haproxy-pid -w "$TIMEOUT" -e "$started" "$SOCKET" >/dev/null
  case $? in
  0) return 0 ;;
  2) rm -f "$1" && return 2 ;;
  esac
  finishing "$started"
  pidfile-read -d -c haproxy "$1" haproxy-sf -k -n PIDFILE_PID
  return 4
}

# Called with the pid of a new haproxy about to be told to finish, which
# holds the listeners and may have taken connections: a command that
# keeps account of such haproxies redefines it.
finishing() {
  :
}

# reload DIR: the reload of the service directory DIR, asked from
# anywhere: s6-rc copies no reload script into the live directory it
# makes (/run/service/NAME under s6-overlay). DIR is checked first; then
# this command runs again in DIR with DIR/env loaded by s6-envdir, as
# DIR/run loads it, so both read the same settings the same way; as
# reload, or as the subcommand $2.
reload_in() {
  case $1 in
  /*) [ -f "$1/run" ] && [ -d "$1/env" ] ;;
  *) false ;;
  esac || refuse DIR "$1" "not the absolute path of a service directory with ./run and ./env"
  command -v s6-envdir >/dev/null || fatal "s6-envdir not found: reload with a directory needs s6"
  case $0 in
  /*) self=$0 ;;
  */*) self=$PWD/$0 ;;
  *) self=$0 ;;
  esac
  cd -- "$1" || exit 111
  exec s6-envdir ./env "$self" "${2:-reload}"
}
