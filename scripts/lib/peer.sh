# scripts/lib/peer.sh — what every peer script shares (sourced, not run): a
# project-local venv kept by a requirements hash, a pinned version read from a
# requirements file, a free loopback port, the imds-conform binary, a server started
# in its own process group and stopped by that group, and the suite's deterministic
# phases against a peer checked against its committed baseline.
#
# The caller sets PEER (its path, the prefix of its messages) and runs from the
# repository root with `set -euo pipefail`.

# peer_say MESSAGE... — one line on stderr, prefixed with the caller's name.
peer_say() { printf '%s: %s\n' "${PEER:-peer}" "$*" >&2; }

# peer_args ARGS... — a peer script's arguments: none, or --write-baseline (sets
# WRITE); anything else is a usage error.
peer_args() {
    WRITE=""
    case "${1:-}" in
        "") ;;
        --write-baseline) WRITE="--write-baseline" ;;
        *) echo "usage: $PEER [--write-baseline]" >&2; exit 2 ;;
    esac
}

# peer_traps — run the caller's `cleanup` on every exit, Ctrl-C and TERM included
# (those exit 130 and 143 after it).
peer_traps() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# peer_venv DIR STAMP REQ... — create (or reuse) the venv DIR with the pinned
# requirements REQ...; reinstalls when their hash differs from the one in STAMP
# (a file inside DIR). Fails with a plain message when Python or pip cannot.
peer_venv() {
    local dir=$1 stamp=$2 python=${PYTHON:-python3} want have
    shift 2
    if ! command -v "$python" >/dev/null 2>&1; then
        peer_say "$python not found: cannot install into $dir"
        return 2
    fi
    want=$(cat "$@" | sha256sum | cut -d' ' -f1)
    have=$(cat "$stamp" 2>/dev/null || true)
    if [[ -x $dir/bin/python && "$want" == "$have" ]]; then
        return 0
    fi
    peer_say "installing into $dir ($*)"
    local args=()
    for req in "$@"; do args+=(-r "$req"); done
    # --clear: a venv whose interpreter moved (or a partial one) is made afresh.
    if ! { [[ -x $dir/bin/python ]] || "$python" -m venv --clear "$dir"; } \
        || ! "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}"; then
        peer_say "could not install $* into $dir"
        return 2
    fi
    echo "$want" >"$stamp"
}

# peer_pinned_version REQ PACKAGE — the version PACKAGE is pinned to (`==`) in REQ.
peer_pinned_version() {
    local v
    v=$(sed -nE "s/^$2(\[[^]]*\])?==([^ ;#]+).*/\2/p" "$1" | head -1)
    if [[ -z $v ]]; then
        peer_say "$1 pins no version of $2"
        return 2
    fi
    echo "$v"
}

# peer_credentials — dummy credentials for the suite and boto3 (peers accept any),
# and no instance-metadata lookups or profiles from the machine.
peer_credentials() {
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
    export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    unset AWS_SESSION_TOKEN AWS_PROFILE || true
}

# peer_free_port — a TCP port free on 127.0.0.1 right now.
peer_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# peer_binary — sets BIN (an array) to the imds-conform binary: $IMDS_CONFORM, or
# the release build (built here when missing or stale).
peer_binary() {
    if [[ -n "${IMDS_CONFORM:-}" ]]; then
        BIN=("$IMDS_CONFORM")
    else
        cargo build --release --quiet
        BIN=(target/release/imds-conform)
    fi
}

# peer_start LOG CMD... — start CMD in a session (and process group) of its own,
# output to LOG; sets PEER_PID, which is also the group peer_stop stops. Running it in its
# own group keeps a terminal's Ctrl-C from reaching it before the trap can stop it
# in order, and lets peer_stop end every process it started, children included.
# (setsid(1) forks, and $! would not be the group, only when its caller leads a
# process group, i.e. with job control on; scripts run without it.)
peer_start() {
    local log=$1
    shift
    setsid "$@" >"$log" 2>&1 </dev/null &
    PEER_PID=$!
}

# peer_stop PID [GRACE] — stop the process group PID started by peer_start (TERM,
# then KILL after GRACE seconds, default 10); does nothing for an empty PID or a
# group already gone.
peer_stop() {
    local pid=${1:-} grace=${2:-10}
    [[ -n $pid ]] || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((grace * 10))); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# peer_alive PID — whether a server peer_start started is still running.
peer_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# peer_wait_http NAME URL PID LOG SECONDS — wait until GET URL answers (any 2xx)
# while the server PID runs; fail with its LOG when it exits or does not answer.
peer_wait_http() {
    local name=$1 url=$2 pid=$3 log=$4 deadline=$((SECONDS + $5))
    while ((SECONDS < deadline)); do
        if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url" 2>/dev/null; then
            return 0
        fi
        if ! peer_alive "$pid"; then
            peer_say "FAILED: $name exited:"; cat "$log" >&2; return 2
        fi
        sleep 0.2
    done
    peer_say "FAILED: $name did not answer at $url within $5 s:"; cat "$log" >&2
    return 2
}

# peer_check NAME URL INSTANCE REPORT BASELINE [--write-baseline] — the suite's
# deterministic phases (no random phase, so the report is the same on every run)
# against the EC2 endpoint URL, then the one baseline step: verify REPORT against
# BASELINE (or write it). `run` exits 1 on nonconformance, which is expected of a
# peer; so is 4 when the only instance not put back is one whose read-back lacks
# options the run set (the run cannot tell it is as before: a departure of the
# peer, on an instance the script made for the run). Any other exit is a failure
# to run.
peer_check() {
    local name=$1 url=$2 instance=$3 report=$4 baseline=$5 write=${6:-} rc err
    rm -rf "$report"
    err=$(mktemp)
    set +e
    "${BIN[@]}" run --api aws-ec2 --endpoint "$url" --region us-east-1 --instance "$instance" \
        --target-name "$name" --seed 1 --settle-timeout-secs 5 \
        --phase coverage --phase auth --phase sequence --report "$report" 2>"$err"
    rc=$?
    set -e
    cat "$err" >&2
    # Exit 4 is expected only when every instance not put back is one whose
    # read-back lacks options the run set, and none still shows another value.
    if [[ $rc -eq 4 ]] && awk '/NOT put back/ { n++; if (!/no read-back shows/ || /still shows other values/) bad++ }
            END { exit !(n > 0 && bad == 0) }' "$err"; then
        peer_say "$name's read-back lacks options the run set: its instance is not verifiably restored (expected of this peer)"
        rc=1
    fi
    rm -f "$err"
    if [[ $rc -ne 0 && $rc -ne 1 ]]; then
        peer_say "the run against $name did not complete (exit $rc)"
        return "$rc"
    fi
    peer_baseline "$report" "$baseline" "$write"
}

# peer_baseline REPORT BASELINE [--write-baseline] — the baseline step, one call.
peer_baseline() {
    "${BIN[@]}" verify --report "$1/report.json" --baseline "$2" ${3:+"$3"}
}
