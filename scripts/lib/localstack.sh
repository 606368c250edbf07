# scripts/lib/localstack.sh — LocalStack on loopback, the one implementation that
# scripts/localstack-peer and benches/compare.sh share (sourced, after
# scripts/lib/peer.sh): install the pinned localstack-core into its own venv, start
# it in host mode (no Docker) with EC2 only, wait for its health endpoint, create an
# instance, stop it.
#
# Host mode as measured on this machine kind (../shared/design/SPEC-FACTS.md,
# "Peers"), with everything it would otherwise do beyond one loopback port off:
#   GATEWAY_LISTEN=127.0.0.1:PORT, through scripts/lib/localstack_loopback.py: its
#                              default (twisted) server ignores the host and binds
#                              0.0.0.0; the wrapper hands twisted the host
#   DNS_ADDRESS=0              no DNS server on :53
#   DISABLE_EVENTS=1           no analytics sent out
#   SKIP_SSL_CERT_DOWNLOAD=1   a self-signed certificate, no download
#   LOCALSTACK_VOLUME_DIR, FILESYSTEM_ROOT   state in a temporary folder, removed
# SERVICES=ec2 with EAGER_SERVICE_LOADING=1 loads EC2 (and nothing else) at start.
# No Docker is used: EC2 in LocalStack's community edition is its moto fork.

LOCALSTACK_VENV=.venv-localstack
LOCALSTACK_REQ=tests/clients/requirements-localstack.txt

# localstack_install — the venv .venv-localstack with the pinned LocalStack; reused
# while tests/clients/requirements-localstack.txt is unchanged.
localstack_install() {
    peer_venv "$LOCALSTACK_VENV" "$LOCALSTACK_VENV/.requirements.sha256" "$LOCALSTACK_REQ"
}

# localstack_version — the pinned localstack-core version (from the requirements).
localstack_version() { peer_pinned_version "$LOCALSTACK_REQ" localstack-core; }

# localstack_start DIR [PORT] — start LocalStack on 127.0.0.1:PORT (a free port when
# omitted) with its state under DIR (which must exist); sets LOCALSTACK_PID (its
# process group), LOCALSTACK_URL and LOCALSTACK_LOG. Stop it with localstack_stop.
localstack_start() {
    local dir=$1 port=${2:-}
    [[ -n $port ]] || port=$(peer_free_port)
    LOCALSTACK_URL="http://127.0.0.1:$port"
    LOCALSTACK_LOG="$dir/localstack.log"
    mkdir -p "$dir/volume" "$dir/filesystem"
    peer_start "$LOCALSTACK_LOG" env \
        SERVICES=ec2 EAGER_SERVICE_LOADING=1 \
        GATEWAY_LISTEN="127.0.0.1:$port" LOCALSTACK_HOST="127.0.0.1:$port" \
        DNS_ADDRESS=0 DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
        LOCALSTACK_VOLUME_DIR="$dir/volume" FILESYSTEM_ROOT="$dir/filesystem" \
        "$LOCALSTACK_VENV/bin/python" scripts/lib/localstack_loopback.py
    LOCALSTACK_PID=$PEER_PID
}

# localstack_wait [SECONDS] — wait (default ${LOCALSTACK_START_TIMEOUT:-180} s) until
# GET /_localstack/health shows EC2 available (or already running); on a timeout or
# an early exit, say so with the end of its log and fail.
localstack_wait() {
    local timeout=${1:-${LOCALSTACK_START_TIMEOUT:-180}} deadline
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if "$LOCALSTACK_VENV/bin/python" - "$LOCALSTACK_URL" 2>/dev/null <<'PY'; then
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/_localstack/health", timeout=2) as r:
    ec2 = json.load(r).get("services", {}).get("ec2")
sys.exit(0 if ec2 in ("available", "running") else 1)
PY
            return 0
        fi
        if ! peer_alive "$LOCALSTACK_PID"; then
            peer_say "LocalStack exited before it was ready"
            localstack_show_log
            return 2
        fi
        sleep 0.5
    done
    peer_say "LocalStack did not report EC2 available at $LOCALSTACK_URL/_localstack/health within ${timeout}s"
    localstack_show_log
    return 2
}

# localstack_show_log — the end of LocalStack's log, on stderr.
localstack_show_log() {
    echo "--- LocalStack's log (last 60 lines) ---" >&2
    if [[ -s $LOCALSTACK_LOG ]]; then tail -n 60 "$LOCALSTACK_LOG" >&2; else echo "(empty)" >&2; fi
    echo "---" >&2
}

# localstack_instance — create an instance through LocalStack's EC2 API (boto3 from
# its venv, with the credentials in the environment: see peer_credentials) and print
# its id. ami-12c6146b is one of the AMIs its moto fork ships with.
localstack_instance() {
    "$LOCALSTACK_VENV/bin/python" - "$LOCALSTACK_URL" <<'PY'
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-east-1")
r = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro")
print(r["Instances"][0]["InstanceId"])
PY
}

# localstack_stop — stop what localstack_start started (its whole process group;
# LocalStack takes ~8 s to stop its thread pool on SIGTERM, hence the 20 s grace).
localstack_stop() {
    peer_stop "${LOCALSTACK_PID:-}" 20
    LOCALSTACK_PID=""
}
