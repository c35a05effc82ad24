#!/bin/sh
# The README's demo: a real live migration between two vmig processes on
# this machine, driven with vmig-ctl the way a management tool would.
#
#   source       512 MiB, 2 vCPUs dirtying random pages while it migrates
#   destination  the same machine, plus only -incoming and -S
#
# -S keeps the destination paused once the state has arrived, so its RAM
# can be compared with the (stopped) source before its vCPUs write to it.
# Usage: scripts/demo.sh [BUILD_DIR]
set -eu

build=${1:-build}
vmig="$build/vmig"
ctl="$build/tools/vmig-ctl"
dir=$(mktemp -d /tmp/vmig-demo.XXXXXX)
src="$dir/src.sock"
dst="$dir/dst.sock"
src_pid=""
dst_pid=""

# Both machines go away on every exit path, failures and Ctrl-C included.
cleanup() {
    for p in $src_pid $dst_pid; do
        kill "$p" 2>/dev/null || true
    done
    for p in $src_pid $dst_pid; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
    printf '\n== %s\n' "$*"
}

fail() {
    printf 'demo FAILED: %s\n' "$*" >&2
    exit 1
}

for f in "$vmig" "$ctl"; do
    [ -x "$f" ] || fail "$f is missing; build first (make build)"
done

# Waits until the vmig with pid $1 answers on QMP socket $2.  A vmig that
# could not set up (say, -incoming cannot listen) exits instead, and
# this returns 1.  The monitor answers only once start-up has finished,
# so an answer means -incoming is listening.
wait_qmp() {
    tries=0
    while kill -0 "$1" 2>/dev/null; do
        if [ -S "$2" ] && "$ctl" "$2" query-status >/dev/null 2>&1; then
            return 0
        fi
        tries=$((tries + 1))
        [ $tries -lt 200 ] || return 1
        sleep 0.05
    done
    return 1
}

# Pages the guest has written so far (the "counter" device's total).
writes() {
    "$ctl" --json "$1" x-query-workload |
        sed -n 's/.*"writes": *\([0-9]*\), *"vcpus".*/\1/p'
}

machine="-m 512M -smp 2"
# The "guest program" while migrating: random pages, text-like content.
# As with QEMU, both ends are given the same machine; the destination runs
# the workload on once it resumes.  It needs no migration options: the
# v2 handshake tells it.
workload="rate=64M,pattern=random,content=text,seed=42"

step "source: 512 MiB, 2 vCPUs; first the guest fills its RAM"
# Sequential at 256 MiB/s per vCPU touches every page within a second,
# so there is real memory to move, not just zero pages.
# shellcheck disable=SC2086  # $machine is meant to split
"$vmig" -name src $machine \
    -workload rate=256M,pattern=sequential,content=text,seed=42 \
    -qmp "unix:$src,server=on,wait=off" >"$dir/src.log" 2>&1 &
src_pid=$!
wait_qmp "$src_pid" "$src" || { cat "$dir/src.log" >&2; fail "source did not start"; }
"$ctl" "$src" query-status
sleep 1.2
step "source: now each vCPU dirties 64 MiB/s of random pages"
"$ctl" "$src" x-workload-set rate=64M pattern=random
echo "pages written so far: $(writes "$src")"

# Port 0: the kernel picks a free port, so no other program can take it
# between our choice and vmig's bind; query-migrate says which it is.
# shellcheck disable=SC2086
"$vmig" -name dst $machine -workload "$workload" \
    -S -incoming tcp:127.0.0.1:0 \
    -qmp "unix:$dst,server=on,wait=off" >"$dir/dst.log" 2>&1 &
dst_pid=$!
wait_qmp "$dst_pid" "$dst" || { cat "$dir/dst.log" >&2; fail "destination did not start"; }
port=$("$ctl" --json "$dst" query-migrate |
       sed -n 's/.*"port": *"\([0-9]*\)".*/\1/p')
[ -n "$port" ] || fail "the destination does not say where it listens"
step "destination: listening on tcp:127.0.0.1:$port (-incoming, -S)"
"$ctl" "$dst" query-status

# 256 MiB/s against 128 MiB/s of dirtying: the migration converges in
# a few passes, slowly enough to watch.  auto-converge steps in if the
# machine is too slow for that.
step "vmig-ctl migrate: live migration with progress"
"$ctl" "$src" migrate "tcp:127.0.0.1:$port" \
    max-bandwidth=256M downtime-limit=300 auto-converge=on \
    --interval=0.25 || fail "the migration did not complete"

step "after the migration"
printf 'source:      '; "$ctl" "$src" query-status
printf 'destination: '; "$ctl" "$dst" query-status

step "comparing the digests of guest RAM and device state"
# Both are paused: the source in postmigrate, the destination by -S.
src_digest=$("$ctl" --json "$src" x-query-vm-digest)
dst_digest=$("$ctl" --json "$dst" x-query-vm-digest)
echo "source:      $src_digest"
echo "destination: $dst_digest"
[ "$src_digest" = "$dst_digest" ] || fail "digests differ"
ram=$(echo "$src_digest" | sed -n 's/.*"ram": *"\([0-9a-f]\{12\}\).*/\1/p')
devices=$(echo "$src_digest" | sed -n 's/.*"devices": *"\([0-9a-f]\{12\}\).*/\1/p')

step "cont: the guest runs on, on the destination"
"$ctl" "$dst" cont
before=$(writes "$dst")
sleep 1
after=$(writes "$dst")
echo "page writes on the destination: $before, one second later $after"
[ "${after:-0}" -gt "${before:-0}" ] || fail "the destination guest does not run"

step "quit"
"$ctl" "$src" quit
"$ctl" "$dst" quit
wait "$src_pid" || fail "source exited with status $?"
src_pid=""
wait "$dst_pid" || fail "destination exited with status $?"
dst_pid=""

echo
echo "demo OK: digests equal (ram $ram..., devices $devices...)"
