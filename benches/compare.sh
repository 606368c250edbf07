#!/usr/bin/env bash
# benches/compare.sh — one run, one machine: absolute figures and the four ratios of
# issue 8 (targets are printed, never asserted).
#
#   1. end-to-end cases/s of `imds-conform run` against the emulator's Lightsail
#      endpoint vs Schemathesis on the same endpoint (docs/openapi/lightsail-emulator.yaml,
#      SigV4 signed by benches/schemathesis_hooks.py), at the defaults and at
#      CONCURRENCY (the suite on as many instances, Schemathesis with as many workers);
#   2. the emulator's requests/s on EC2 ModifyInstanceMetadataOptions under wrk vs
#      moto_server under the same load (one pre-signed request replayed), and vs
#      LocalStack (started as scripts/localstack-peer starts it: scripts/lib/localstack.sh);
#   3. the end-to-end rate (in requests: two per case) vs wrk's rate on the same
#      emulator (Lightsail), the suite at CONCURRENCY instances and at the defaults,
#      with the CPU the suite spent per case and the emulator per request in that
#      run, and the suite's CPU per case the target leaves on this machine's cores;
#      beside it (no target), the suite vs wrk replaying the suite's own mix: the
#      modify and its read-back (GetInstance) in turn, as each case sends them;
#   3b. beside 3 (no target): the same comparison with the cores split, the emulator
#      on one CPU and the client (wrk, or the suite) on the others (taskset), so
#      client and server never share a CPU: what the suite costs as a client, free
#      of the scheduler's hand-offs that sharing the CPUs adds to both sides.
#   4. peak RSS of long random runs (MEM_CASES) — it must stay flat;
#   5. the emulator's requests/s vs a static nginx under the same wrk load (a file of
#      the emulator answer's size; nginx on loopback with its own config in the
#      temporary folder, stopped on exit).
#
# Usage: benches/compare.sh [--readme]
#   --readme  also rewrite the README's "Latest figures" (between the markers
#             <!-- perf:begin --> and <!-- perf:end -->; README_FILE to aim elsewhere)
#             with the date, commit, machine and every figure and ratio, misses
#             included. Run it on a quiet machine (uptime load < 0.5).
#
# Installs what is missing: wrk and time (apt-get), Schemathesis and moto
# (benches/requirements.txt into .venv), LocalStack (.venv-localstack). Knobs (environment):
#   E2E_CASES=20000     random cases per instance in the end-to-end run at the defaults
#                       (2 instances); the run at CONCURRENCY instances makes as many.
#                       About 4 s a run, as wrk's are 10 s: runs of 0.7 s (3000) were
#                       at the mercy of a noisy moment on this 2-core machine
#   CONCURRENCY=WRK_CONNECTIONS  instances (suite) and workers (Schemathesis) of the
#                       second end-to-end run
#   ST_EXAMPLES=500     Schemathesis --max-examples
#   WRK_SECONDS=10 WRK_THREADS=2 WRK_CONNECTIONS=8
#   MEM_CASES="10000 100000 1000000"   random-run sizes for the memory figure
#   PORT=18480 MOTO_PORT=18481 LOCALSTACK_PORT=18482 NGINX_PORT=18483 PINNED_PORT=18484
set -euo pipefail
cd "$(dirname "$0")/.."

README_MODE=0
for arg in "$@"; do
    case $arg in
        --readme) README_MODE=1 ;;
        *) echo "usage: benches/compare.sh [--readme]" >&2; exit 2 ;;
    esac
done
README_FILE=${README_FILE:-README.md}
if ((README_MODE)) && ! grep -q '^<!-- perf:begin -->$' "$README_FILE"; then
    echo "compare.sh: $README_FILE has no <!-- perf:begin --> marker" >&2
    exit 2
fi

E2E_CASES=${E2E_CASES:-20000}
ST_EXAMPLES=${ST_EXAMPLES:-500}
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-8}
CONCURRENCY=${CONCURRENCY:-$WRK_CONNECTIONS}
MEM_CASES=${MEM_CASES:-"10000 100000 1000000"}
PORT=${PORT:-18480}
MOTO_PORT=${MOTO_PORT:-18481}
LOCALSTACK_PORT=${LOCALSTACK_PORT:-18482}
NGINX_PORT=${NGINX_PORT:-18483}
PINNED_PORT=${PINNED_PORT:-18484}
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/imds-bench.XXXXXX")
PIDS=()

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

PEER=benches/compare.sh
. scripts/lib/peer.sh
. scripts/lib/localstack.sh

cleanup() {
    localstack_stop
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '== %s\n' "$*" >&2; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
# cpu_secs PID -> the CPU time (user + system) process PID has used so far, in seconds
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

wait_port() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "compare.sh: nothing listens on port $1" >&2
    return 1
}

# --- tools -------------------------------------------------------------------
apt_install() {
    apt-get install -y "$@" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$@" >/dev/null; }
}
command -v wrk >/dev/null || { say "installing wrk (apt-get)"; apt_install wrk; }
[[ -x /usr/bin/time ]] || { say "installing time (apt-get)"; apt_install time; }
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || { say "installing nginx (apt-get)"; apt_install nginx; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

REQ=benches/requirements.txt
STAMP=.venv/.bench-requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [[ ! -x .venv/bin/python || "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]]; then
    say "installing Schemathesis and moto into .venv ($REQ)"
    [[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQ"
    echo "$want" > "$STAMP"
fi

say "building (release)"
cargo build --release --quiet --bin imds-conform --example presign
BIN=target/release/imds-conform
PRESIGN=target/release/examples/presign

# --- the emulator ------------------------------------------------------------
URL="http://127.0.0.1:$PORT"
# Lightsail instances web-1 … web-N, so the suite can run at wrk's concurrency (one
# instance per worker); the sections left out keep the default fixtures
# (docs/emulator.md).
for i in $(seq 1 "$CONCURRENCY"); do
    printf '[[lightsail]]\nid = "web-%s"\nregion = "us-east-1"\n\n' "$i"
done >"$WORK/fixtures.toml"
"$BIN" serve --listen "127.0.0.1:$PORT" --fixtures "$WORK/fixtures.toml" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
PIDS+=($!)
wait_port "$PORT"

wrk_rate() { # api url [instance] -> requests/s; fails on non-2xx answers
    local api=$1 url=$2 instance=${3:-}
    "$PRESIGN" --api "$api" --url "$url" ${instance:+--instance "$instance"} >"$WORK/$api.lua"
    wrk_lua "$WORK/$api.lua" "$url"
}

wrk_mix() { # url -> requests/s of wrk sending the suite's mix (Lightsail modify, then
    # its read-back, in turn); fails on non-2xx answers
    "$PRESIGN" --api aws-lightsail --url "$1" --with-readback >"$WORK/lightsail-mix.lua"
    wrk_lua "$WORK/lightsail-mix.lua" "$1"
}

wrk_lua() { # script url -> requests/s of wrk replaying the script (under WRK_PIN, a
    # command such as taskset, when set); fails on non-2xx answers
    local out pin=(${WRK_PIN:-})
    out=$(${pin[@]+"${pin[@]}"} wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" -s "$1" "$2/")
    if grep -q "Non-2xx" <<<"$out"; then
        echo "compare.sh: wrk got error answers from $2 ($1):" >&2
        echo "$out" >&2
        return 1
    fi
    awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

# ec2_hop_lua url instance -> a wrk script replaying one EC2 ModifyInstanceMetadataOptions
# with HttpTokens=optional and HttpPutResponseHopLimit=1, signed by botocore (SigV4,
# the exported credentials). LocalStack 4.14 answers 500 when the hop limit is
# omitted (moto #9889, inherited), which is the request presign prints, so the
# LocalStack comparison replays this one against both servers.
ec2_hop_lua() {
    "$LOCALSTACK_VENV/bin/python" - "$1" "$2" <<'PY'
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import get_session
url, instance = sys.argv[1], sys.argv[2]
body = ("Action=ModifyInstanceMetadataOptions&Version=2016-11-15"
        f"&InstanceId={instance}&HttpTokens=optional&HttpPutResponseHopLimit=1")
req = AWSRequest("POST", url + "/", data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(get_session().get_credentials(), "ec2", "us-east-1").add_auth(req)
print('wrk.method = "POST"')
print("wrk.body = " + json.dumps(body))
for k, v in req.headers.items():
    print(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
PY
}

# 1. the suite, end to end, against the served emulator's Lightsail endpoint, and
# Schemathesis against the same endpoint: once at the defaults (the suite on the
# two running Lightsail instances of the default fixtures, one worker each;
# Schemathesis with one worker), once at wrk's concurrency (the suite on
# $CONCURRENCY instances, Schemathesis with --workers $CONCURRENCY). The suite runs
# the same number of random cases both times.
# (RUN_URL, RUN_PID and RUN_PIN aim a run elsewhere: the emulator's URL and process,
# and a command the suite runs under, such as taskset.)
suite_run() { # tag instances... -> sets suite_cases_$tag, suite_secs_$tag, suite_rate_$tag
    local tag=$1 args=() rc t0 t1 url=${RUN_URL:-$URL} pid=${RUN_PID:-$SERVE_PID}
    local pin=(${RUN_PIN:-})
    shift
    for i in "$@"; do args+=(--instance "$i"); done
    local per=$(( E2E_CASES * 2 / $# ))
    say "imds-conform run: aws-lightsail coverage + random on $# instances ($per random cases each) against $url${RUN_PIN:+ ($RUN_PIN)}"
    local emu0 emu1
    emu0=$(cpu_secs "$pid")
    t0=$(now)
    set +e
    ${pin[@]+"${pin[@]}"} /usr/bin/time -f '%U %S' -o "$WORK/suite-$tag.time" \
        "$BIN" run --api aws-lightsail --endpoint "$url" "${args[@]}" \
        --phase coverage --phase random --cases "$per" --seed 1 --rate 1000000 \
        >"$WORK/suite-$tag.out" 2>&1
    rc=$?
    set -e
    t1=$(now)
    emu1=$(cpu_secs "$pid")
    if (( rc > 1 )); then cat "$WORK/suite-$tag.out" >&2; exit 1; fi
    local cases secs user sys
    cases=$(awk '$1 == "TOTAL" { print $2 }' "$WORK/suite-$tag.out")
    secs=$(calc "$t1 - $t0" 2)
    # (GNU time puts "Command exited with non-zero status N" first when the run
    # exits 1, i.e. found departures: the figures are its last line.)
    read -r user sys < <(tail -n1 "$WORK/suite-$tag.time")
    printf -v "suite_cases_$tag" '%s' "$cases"
    printf -v "suite_secs_$tag" '%s' "$secs"
    printf -v "suite_rate_$tag" '%s' "$(calc "$cases / $secs" 0)"
    # Where the time went: the suite's CPU per case, the emulator's per request
    # (two per case).
    printf -v "suite_cpu_$tag" '%s' "$(calc "1000000 * ($user + $sys) / $cases" 0)"
    printf -v "emu_cpu_$tag" '%s' "$(calc "1000000 * ($emu1 - $emu0) / (2 * $cases)" 0)"
}

st_run() { # tag workers -> sets st_cases_$tag, st_secs_$tag, st_rate_$tag, st_findings
    local tag=$1 workers=$2 rc t0 t1 cases secs
    say "schemathesis: -n $ST_EXAMPLES --workers $workers against $URL"
    t0=$(now)
    set +e
    PYTHONPATH=benches SCHEMATHESIS_HOOKS=schemathesis_hooks \
        .venv/bin/schemathesis run docs/openapi/lightsail-emulator.yaml --url "$URL" \
        --max-examples "$ST_EXAMPLES" --seed 1 --continue-on-failure --no-color \
        --workers "$workers" >"$WORK/st-$tag.out" 2>&1
    rc=$?
    set -e
    t1=$(now)
    cases=$(grep -oE '[0-9]+ generated' "$WORK/st-$tag.out" | tail -1 | cut -d' ' -f1 || true)
    if [[ -z "$cases" ]]; then
        echo "compare.sh: Schemathesis reported no test cases (exit $rc):" >&2
        tail -30 "$WORK/st-$tag.out" >&2
        exit 1
    fi
    secs=$(calc "$t1 - $t0" 2)
    printf -v "st_cases_$tag" '%s' "$cases"
    printf -v "st_secs_$tag" '%s' "$secs"
    printf -v "st_rate_$tag" '%s' "$(calc "$cases / $secs" 1)"
    st_findings=$(grep -cE '^ *❌ ST[0-9]+' "$WORK/st-$tag.out" || true)
}

suite_run def web-1 web-2
many=()
for i in $(seq 1 "$CONCURRENCY"); do many+=("web-$i"); done
suite_run conc "${many[@]}"
st_run def 1
st_run conc "$CONCURRENCY"

# 2./3. wrk on the emulator (EC2 and Lightsail).
say "wrk: emulator, EC2 ModifyInstanceMetadataOptions (${WRK_SECONDS}s, -t$WRK_THREADS -c$WRK_CONNECTIONS)"
emu_ec2=$(wrk_rate aws-ec2 "$URL")
say "wrk: emulator, Lightsail UpdateInstanceMetadataOptions"
emu_ls=$(wrk_rate aws-lightsail "$URL")
say "wrk: emulator, Lightsail UpdateInstanceMetadataOptions and GetInstance in turn (the suite's mix)"
emu_ls_mix=$(wrk_mix "$URL")

# 3b. The cores split: a second emulator on the first CPU this script may use, the
# client (wrk, then the suite) on the others. Beside target 3, no target of its own.
# cpus_allowed -> the CPUs this process may run on, one per line
cpus_allowed() {
    awk '/^Cpus_allowed_list:/ {
        n = split($2, parts, ",")
        for (i = 1; i <= n; i++) {
            if (split(parts[i], r, "-") == 2) { for (c = r[1]; c <= r[2]; c++) print c }
            else print parts[i]
        }
    }' /proc/self/status
}
mapfile -t allowed < <(cpus_allowed)
if ((${#allowed[@]} >= 2)) && command -v taskset >/dev/null; then
    emu_cpu=${allowed[0]}
    client_cpus=$(IFS=,; echo "${allowed[*]:1}")
    say "the cores split: the emulator on CPU $emu_cpu, wrk and the suite on CPU $client_cpus"
    PINNED_URL="http://127.0.0.1:$PINNED_PORT"
    taskset -c "$emu_cpu" "$BIN" serve --listen "127.0.0.1:$PINNED_PORT" --fixtures "$WORK/fixtures.toml" \
        >"$WORK/serve-pinned.log" 2>&1 &
    PINNED_PID=$!
    PIDS+=($!)
    wait_port "$PINNED_PORT"
    emu_ls_pin=$(WRK_PIN="taskset -c $client_cpus" wrk_rate aws-lightsail "$PINNED_URL")
    emu_mix_pin=$(WRK_PIN="taskset -c $client_cpus" wrk_mix "$PINNED_URL")
    RUN_URL=$PINNED_URL RUN_PID=$PINNED_PID RUN_PIN="taskset -c $client_cpus" suite_run pin "${many[@]}"
    kill "$PINNED_PID" 2>/dev/null || true
    wait "$PINNED_PID" 2>/dev/null || true
    r3pin=$(calc "200 * $suite_rate_pin / $emu_ls_pin" 1)
    r3pinmix=$(calc "200 * $suite_rate_pin / $emu_mix_pin" 1)
    split_text="emulator on CPU $emu_cpu, client on CPU $client_cpus"
else
    say "the cores split: skipped (one CPU, or no taskset)"
    emu_ls_pin="n/a" emu_mix_pin="n/a" suite_rate_pin="n/a" suite_cpu_pin="n/a" emu_cpu_pin="n/a"
    suite_cases_pin="n/a" suite_secs_pin="n/a" r3pin="n/a" r3pinmix="n/a"
    split_text="not measured: one CPU, or no taskset"
fi

# A static nginx under the same load: one file of the size of the emulator's EC2
# answer (as it answers the replayed request), fetched with GET (nginx serves no POST).
say "nginx: static file of the emulator's EC2 answer size"
mkdir -p "$WORK/nginx/www" "$WORK/nginx/tmp"
eval "$("$PRESIGN" --api aws-ec2 --url "$URL" --format curl)" >"$WORK/nginx/www/answer.xml"
answer_bytes=$(wc -c <"$WORK/nginx/www/answer.xml")
# nginx's workers drop root for an unprivileged user: let them reach the file
# (the folder is mktemp's, closed to others; they may pass through, not list).
chmod o+x "$WORK"
chmod -R o+rX "$WORK/nginx/www"
cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    default_type text/xml;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/nginx/www;
    }
}
CONF
"$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/out.log" 2>&1 &
PIDS+=($!)
wait_port "$NGINX_PORT"
printf 'wrk.method = "GET"\nwrk.path = "/answer.xml"\n' >"$WORK/nginx.lua"
nginx_rate=$(wrk_lua "$WORK/nginx.lua" "http://127.0.0.1:$NGINX_PORT")
nginx_version=$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')

# moto under the same load, on a real instance it created.
say "moto_server: EC2 ModifyInstanceMetadataOptions"
.venv/bin/moto_server -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=($!)
wait_port "$MOTO_PORT"
moto_instance=$(.venv/bin/python - "$MOTO_PORT" <<'PY'
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1")
print(ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"])
PY
)
moto_ec2=$(wrk_rate aws-ec2 "http://127.0.0.1:$MOTO_PORT" "$moto_instance")

# LocalStack under the same load, started as scripts/localstack-peer starts it.
say "LocalStack: EC2 ModifyInstanceMetadataOptions (with the hop limit; against the emulator too)"
if ! localstack_install; then
    echo "compare.sh: LocalStack could not be installed (.venv-localstack)" >&2
    exit 1
fi
ls_version=$(localstack_version)
mkdir -p "$WORK/localstack"
localstack_start "$WORK/localstack" "$LOCALSTACK_PORT"
localstack_wait
ls_instance=$(localstack_instance)
# the emulator's default EC2 instance: the one presign picks
emu_instance=$("$PRESIGN" --api aws-ec2 --url "$URL" | grep -o 'InstanceId=[^&"]*' | head -1 | cut -d= -f2)
ec2_hop_lua "$URL" "$emu_instance" >"$WORK/emu-hop.lua"
ec2_hop_lua "$LOCALSTACK_URL" "$ls_instance" >"$WORK/ls-hop.lua"
emu_ec2_hop=$(wrk_lua "$WORK/emu-hop.lua" "$URL")
ls_ec2=$(wrk_lua "$WORK/ls-hop.lua" "$LOCALSTACK_URL")
localstack_stop

# 4. memory of long random runs (embedded emulator: its memory counts too).
mem_rows=()
mem_peaks=()
mem_md=()
for n in $MEM_CASES; do
    say "memory: random phase, $n cases (one instance)"
    /usr/bin/time -f '%M %e' -o "$WORK/time.out" \
        "$BIN" run --api aws-lightsail --phase random --cases "$n" --seed 1 --concurrency 1 \
        >"$WORK/mem.out" 2>&1 || true
    read -r kb secs < <(tail -n1 "$WORK/time.out")
    mem_peaks+=("$kb")
    mem_md+=("$(calc "$kb / 1024" 1) MB ($(calc "$n / $secs" 0) cases/s)")
    mem_rows+=("$(printf '%-34s %12s' "peak RSS, $n random cases" "$(calc "$kb / 1024" 1) MB ($(calc "$n / $secs" 0) cases/s)")")
done

# --- report --------------------------------------------------------------------
# Targets 1 and 3 are judged at equal concurrency (the suite on CONCURRENCY
# instances, Schemathesis with as many workers, wrk with WRK_CONNECTIONS
# connections); the defaults' ratios are printed beside them.
r1=$(calc "$suite_rate_conc / $st_rate_conc" 0)
r1def=$(calc "$suite_rate_def / $st_rate_def" 0)
r2=$(calc "$emu_ec2 / $moto_ec2" 0)
r2ls=$(calc "$emu_ec2_hop / $ls_ec2" 0)
r2ng=$(calc "100 * $emu_ec2 / $nginx_rate" 1)
r3=$(calc "100 * $suite_rate_conc / $emu_ls" 1)
r3req=$(calc "200 * $suite_rate_conc / $emu_ls" 1)
r3def=$(calc "200 * $suite_rate_def / $emu_ls" 1)
r3mix=$(calc "200 * $suite_rate_conc / $emu_ls_mix" 1)
# Target 3 as CPU: the two cores give 50 % of wrk's rate only if a request costs the
# emulator and the suite together at most cores / (wrk's rate / 2); what is left
# after the emulator's part is what the suite may spend per case (two requests).
cores=$(nproc)
budget3=$(calc "2 * (2 * 1000000 * $cores / $emu_ls - $emu_cpu_conc)" 0)
mem_first=${mem_peaks[0]}
mem_last=${mem_peaks[${#mem_peaks[@]}-1]}
growth=$(calc "100 * ($mem_last - $mem_first) / $mem_first" 1)
mem_max=$(printf '%s\n' "${mem_peaks[@]}" | sort -n | tail -1)
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }
v1=$(verdict "$r1 >= 100")
v2=$(verdict "$r2 >= 150")
v2ng=$(verdict "$r2ng >= 50")
v3=$(verdict "$r3req >= 50")
v4=$(verdict "$mem_max < 65536 && $growth < 25")
stamp=$(date -u +%Y-%m-%dT%H:%MZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then commit="$commit (with uncommitted changes)"; fi
machine="$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
load=$(cut -d' ' -f1-3 /proc/loadavg)

cat <<TABLE

imds-conform benchmark — $stamp, $commit
machine: $machine (load before the report: $load)

absolute figures
  imds-conform run (lightsail, coverage+random; each case: the call + a read-back)
    on 2 instances (the defaults)                 $suite_cases_def cases in ${suite_secs_def}s = $suite_rate_def cases/s
$(printf '    %-45s %s' "on $CONCURRENCY instances" "$suite_cases_conc cases in ${suite_secs_conc}s = $suite_rate_conc cases/s")
  Schemathesis 4.32.5 (same endpoint; $st_findings kinds of finding)
    1 worker (the default)                        $st_cases_def cases in ${st_secs_def}s = $st_rate_def cases/s
$(printf '    %-45s %s' "$CONCURRENCY workers" "$st_cases_conc cases in ${st_secs_conc}s = $st_rate_conc cases/s")
  wrk -> emulator, EC2 Modify                     $emu_ec2 requests/s
  wrk -> emulator, Lightsail Update               $emu_ls requests/s
  wrk -> emulator, Lightsail Update + GetInstance $emu_ls_mix requests/s (in turn: the suite's mix)
$(printf '  %-47s %s requests/s' "wrk -> nginx $nginx_version, static ${answer_bytes} B (GET)" "$nginx_rate")
  wrk -> moto_server 5.2.5, EC2 Modify            $moto_ec2 requests/s
$(printf '  %-47s %s requests/s' "wrk -> emulator, EC2 Modify + hop limit" "$emu_ec2_hop")
$(printf '  %-47s %s requests/s' "wrk -> LocalStack $ls_version, same request" "$ls_ec2")
$(printf '  %s\n' "${mem_rows[@]}")

ratios                                               got        target     
  1. suite vs Schemathesis, cases/s,
$(printf '     %-44s %-10s %-10s %s' "both at concurrency $CONCURRENCY" "${r1}x" ">= 100x" "$v1")
$(printf '     %-44s %s' "(at the defaults: 2 instances vs 1 worker" "${r1def}x)")
  2. emulator vs moto, requests/s (wrk)            ${r2}x       >= 150x    $v2
$(printf '     %-44s %-10s %-10s %s' "emulator vs static nginx (wrk)" "${r2ng}%" ">= 50%" "$v2ng")
$(printf '     %-44s %-10s %s' "emulator vs LocalStack $ls_version (wrk)" "${r2ls}x" "(no target; both with the hop limit)")
  3. suite vs wrk on the emulator (Lightsail), requests (2 per case) vs requests/s,
$(printf '     %-44s %-10s %-10s %s' "suite on $CONCURRENCY instances, wrk -c$WRK_CONNECTIONS" "${r3req}%" ">= 50%" "$v3")
$(printf '     %-44s %s' "(cases/s vs requests/s" "${r3}%)")
$(printf '     %-44s %s' "(at the defaults, 2 instances" "${r3def}%)")
$(printf '     %-44s %-10s %s' "vs wrk sending the suite's mix (modify, read-back)" "${r3mix}%" "(no target; like for like)")
$(printf '     %-44s %s' "CPU: the suite per case (2 requests)" "${suite_cpu_conc} us; the emulator ${emu_cpu_conc} us per request")
$(printf '     %-44s %s' "50% of wrk on $cores cores leaves the suite" "${budget3} us per case")
  3b. the cores split ($split_text; no target):
$(printf '     %-44s %s' "wrk -> emulator, Lightsail Update" "$emu_ls_pin requests/s")
$(printf '     %-44s %s' "wrk -> emulator, Update + GetInstance" "$emu_mix_pin requests/s")
$(printf '     %-44s %s' "suite on $CONCURRENCY instances" "$suite_cases_pin cases in ${suite_secs_pin}s = $suite_rate_pin cases/s")
$(printf '     %-44s %s' "suite vs wrk, requests (2 per case)" "${r3pin}% (vs the mix: ${r3pinmix}%)")
$(printf '     %-44s %s' "CPU: the suite per case (2 requests)" "${suite_cpu_pin} us; the emulator ${emu_cpu_pin} us per request")
  4. peak RSS growth ${MEM_CASES// /→} cases     ${growth}%, max $(calc "$mem_max / 1024" 1) MB   flat, < 64 MB   $v4
TABLE

((README_MODE)) || exit 0

# --readme: the same figures as the README's "Latest figures", between its markers.
knobs="E2E_CASES=$E2E_CASES CONCURRENCY=$CONCURRENCY ST_EXAMPLES=$ST_EXAMPLES WRK_SECONDS=$WRK_SECONDS WRK_THREADS=$WRK_THREADS WRK_CONNECTIONS=$WRK_CONNECTIONS MEM_CASES=\"$MEM_CASES\""
{
    echo "<!-- perf:begin -->"
    echo "<!-- written by benches/compare.sh --readme; do not edit by hand -->"
    echo
    echo "$stamp, commit \`$commit\`; $machine; load average before the report"
    echo "$load; release build. Command: \`$knobs benches/compare.sh --readme\`."
    echo
    echo "| measure | figure |"
    echo "|---|---|"
    echo "| \`imds-conform run\`, Lightsail coverage + random, vs the served emulator, 2 instances (the defaults) | $suite_cases_def cases in $suite_secs_def s = **$suite_rate_def cases/s** |"
    echo "| the same on $CONCURRENCY instances | $suite_cases_conc cases in $suite_secs_conc s = **$suite_rate_conc cases/s** |"
    echo "| Schemathesis 4.32.5, same endpoint, 1 worker (the default) | $st_cases_def cases in $st_secs_def s = **$st_rate_def cases/s** |"
    echo "| the same with \`--workers $CONCURRENCY\` | $st_cases_conc cases in $st_secs_conc s = **$st_rate_conc cases/s** |"
    echo "| wrk → emulator, EC2 Modify | **$emu_ec2 requests/s** |"
    echo "| wrk → emulator, Lightsail Update | **$emu_ls requests/s** |"
    echo "| wrk → emulator, Lightsail Update and GetInstance in turn (the suite's mix of requests) | **$emu_ls_mix requests/s** |"
    echo "| the cores split ($split_text): wrk → emulator, Lightsail Update | **$emu_ls_pin requests/s** |"
    echo "| the same, Update and GetInstance in turn | **$emu_mix_pin requests/s** |"
    echo "| the same, \`imds-conform run\` on $CONCURRENCY instances | $suite_cases_pin cases in $suite_secs_pin s = **$suite_rate_pin cases/s** |"
    echo "| wrk → nginx $nginx_version, static file of the answer's size ($answer_bytes B) | **$nginx_rate requests/s** |"
    echo "| wrk → moto_server 5.2.5, EC2 Modify | **$moto_ec2 requests/s** |"
    echo "| wrk → emulator, EC2 Modify with the hop limit | **$emu_ec2_hop requests/s** |"
    echo "| wrk → LocalStack $ls_version, same request | **$ls_ec2 requests/s** |"
    i=0
    for n in $MEM_CASES; do
        echo "| peak RSS, $n random cases | **${mem_md[$i]}** |"
        i=$((i + 1))
    done
    echo
    echo "| ratio | got | target | |"
    echo "|---|---|---|---|"
    echo "| 1. suite vs Schemathesis, cases/s, both at concurrency $CONCURRENCY | ${r1}× | ≥ 100× | $v1 |"
    echo "| the same at the defaults (2 instances vs 1 worker) | ${r1def}× | | |"
    echo "| 2. emulator vs moto, requests/s | ${r2}× | ≥ 150× | $v2 |"
    echo "| emulator vs static nginx, requests/s | ${r2ng} % | ≥ 50 % | $v2ng |"
    echo "| emulator vs LocalStack $ls_version, requests/s | ${r2ls}× | none | |"
    echo "| 3. suite on $CONCURRENCY instances vs wrk -c$WRK_CONNECTIONS on the emulator, requests (2 per case) | ${r3req} % (${r3} % as cases) | ≥ 50 % | $v3 |"
    echo "| the same with the suite at the defaults (2 instances) | ${r3def} % | | |"
    echo "| the suite on $CONCURRENCY instances vs wrk sending the suite's mix (a modify, then its read-back) | ${r3mix} % | none (like for like) | |"
    echo "| CPU in the run on $CONCURRENCY instances: the suite per case (2 requests); the emulator per request | ${suite_cpu_conc} µs; ${emu_cpu_conc} µs | the suite ≤ ${budget3} µs per case for target 3 on $cores cores | |"
    echo "| the cores split: the suite vs wrk, requests (2 per case); vs wrk sending the suite's mix | ${r3pin} %; ${r3pinmix} % | none (client and server on a core each) | |"
    echo "| CPU with the cores split: the suite per case; the emulator per request | ${suite_cpu_pin} µs; ${emu_cpu_pin} µs | | |"
    echo "| 4. memory, ${MEM_CASES// / → } cases | ${growth} %, max $(calc "$mem_max / 1024" 1) MB | flat, < 64 MB | $v4 |"
    echo "<!-- perf:end -->"
} >"$WORK/figures.md"
awk -v figures="$WORK/figures.md" '
    /^<!-- perf:begin -->$/ { while ((getline line < figures) > 0) print line; skip = 1; next }
    /^<!-- perf:end -->$/ { skip = 0; next }
    !skip { print }
' "$README_FILE" >"$WORK/readme.new"
cat "$WORK/readme.new" >"$README_FILE"
say "$README_FILE: Latest figures rewritten"
