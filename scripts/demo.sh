#!/bin/sh
# The README's demo: starts a vmig machine with a dirtying workload and
# drives it over QMP with vmig-ctl, the way a management tool would.
# Usage: scripts/demo.sh BUILD_DIR
set -eu

build=${1:-build}
vmig="$build/vmig"
ctl="$build/tools/vmig-ctl"
dir=$(mktemp -d /tmp/vmig-demo.XXXXXX)
qmp="$dir/qmp.sock"
pid=""

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

step() {
    printf '\n== %s\n' "$*"
}

step "starting a paused 256 MiB, 2-vCPU machine with a text-like workload"
"$vmig" -name demo -m 256M -smp 2 -S \
    -workload rate=32M,pattern=random,content=text,seed=42 \
    -qmp "unix:$qmp,server=on,wait=off" >"$dir/vmig.log" 2>&1 &
pid=$!

# Wait for the monitor socket rather than sleeping a fixed time.
tries=0
until [ -S "$qmp" ]; do
    tries=$((tries + 1))
    if [ $tries -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "vmig did not start:" >&2
        cat "$dir/vmig.log" >&2
        exit 1
    fi
    sleep 0.05
done

step "query-version"
"$ctl" "$qmp" query-version
step "query-status (started with -S)"
"$ctl" "$qmp" query-status
step "cont: the vCPU threads start dirtying guest RAM"
"$ctl" "$qmp" cont
sleep 1
step "x-query-workload after one second"
"$ctl" "$qmp" x-query-workload
step "stop"
"$ctl" "$qmp" stop
"$ctl" "$qmp" query-status
step "quit"
"$ctl" "$qmp" quit
wait "$pid"
pid=""
echo
echo "demo finished: vmig exited cleanly"
