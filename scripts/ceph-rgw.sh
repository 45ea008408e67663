#!/usr/bin/env bash
# A private one-node Ceph cluster (Debian 12's Ceph 16.2 "Pacific") with a RADOS Gateway
# (S3 API) on 127.0.0.1, for tests. Never the system cluster: nothing under /etc/ceph or
# /var/lib/ceph is read or written; every daemon gets `-c DIR/ceph.conf`.
#
# Usage:
#   scripts/ceph-rgw.sh start DIR   # DIR: an empty (or missing) folder the caller owns
#   . DIR/env                       # S3_ENDPOINT (http), S3_TLS_ENDPOINT (https, s3.localhost),
#                                   # S3_CA_BUNDLE (its self-signed certificate),
#                                   # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
#                                   # AWS_DEFAULT_REGION=default, CEPH_CONF
#   ...tests...
#   scripts/ceph-rgw.sh stop DIR    # idempotent; removing DIR is the caller's job
#   scripts/ceph-rgw.sh kill-rgw DIR   # SIGKILL the gateway alone (fault tests)
#   scripts/ceph-rgw.sh start-rgw DIR  # start it again on the same port and wait for it
#
# `start` installs what is missing (as root: apt-get install -y --no-install-recommends
# ceph-mon ceph-osd radosgw ceph-common python3; `apt-get update` once only if that fails),
# picks two free loopback ports, and starts mon.a, osd.0 and client.rgw.a (beast frontend on
# 127.0.0.1:PORT). No mgr: pools are created by the mon alone; `ceph -s` says HEALTH_WARN
# "no active mgr" and shows no PG stats, which blocks nothing. It creates the S3 user `test`
# with `radosgw-admin user create`, waits until a SigV4-signed ListBuckets returns the bucket
# list, then writes DIR/env (so DIR/env exists only once the gateway is ready) and exits 0.
# On failure (deadline CEPH_RGW_TIMEOUT, default 150 s after the install step, plus at most
# 20 s for one hung CLI call) it prints the tail of each log, stops what it started and exits 1.
# A daemon that dies during start-up fails it at once.
#
# Layout of DIR: ceph.conf, keyring (cephx is off; the tools still want one), monmap,
# mon/mon.a (mon store), osd/ceph-0 (BlueStore; `block` is a sparse 10 GiB file, ~130 MiB
# used after start), rgw/, run/ (pid files, admin sockets), log/ (one log per daemon,
# client.admin.log for the CLI tools, startup.log with the seconds each step took), env.
# Admin sockets live in DIR/run: if DIR is longer than ~85 characters their paths pass the
# 107-byte UNIX limit; the daemons then only log an error and run without one.
#
# Settings: auth none (cephx off) and msgr2 in crc mode only (with auth none a client
# daemon's default `ms_mon_client_mode = secure` makes radosgw fail with "get_initial_auth_request
# returned -13"). RGW still checks S3 signatures with the user's keys (its own auth).
# Pools: size 1, min_size 1, 8 PGs, autoscale off, CRUSH picks OSDs not hosts.
# paxos_propose_interval 0.05 s (default 1 s made each of RGW's lazy pool creations take ~2 s)
# and bdev_aio_poll_ms 20 (default 250 ms made each BlueStore open/close take 0.27 s).
# Memory: osd_memory_target 512 MiB, bluestore cache 64 MiB, rgw_thread_pool_size 32.
# CEPH_RGW_OBJECTSTORE=memstore keeps the OSD's data in RAM instead (starts ~1 s faster; RSS
# grows with the data stored).
#
# Measured here (2 cores, ext4; eight start/verify/stop rounds, two clusters side by side once):
#   start (packages present): 2.8-4.1 s wall to ready (memstore 2.1-3.2 s); stop: 0.5-0.8 s.
#   Installing the packages the first time: ~18 s. DIR/log/startup.log has each step's time.
#   RSS after start: mon 32 MiB, osd 49 MiB, radosgw 33 MiB; peak (VmHWM) after the
#   verification below (two 40 MiB multipart objects): mon 33 MiB, osd 85-92 MiB, radosgw
#   89-105 MiB (memstore osd: 175 MiB, holding the data). Idle CPU: ~1% of one core.
# Verified against it (with Debian's s3cmd 2.3.0, rclone 1.60.1, curl 7.88 --aws-sigv4, and
# python3 stdlib signers): create bucket; 40 MiB multipart upload (s3cmd 8 MiB parts, rclone
# 5 MiB parts); list; download + sha256 compare; ranged GET (206) via `rclone cat --offset
# --count` and via curl on presigned URLs, both V2 (s3cmd signurl) and V4 (rclone link);
# ListMultipartUploads of an incomplete upload, ListParts, AbortMultipartUpload (then it is no
# longer listed); aws-chunked streaming upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD); a wrong
# secret gets 403 SignatureDoesNotMatch; a wrong body hash gets 400 XAmzContentSHA256Mismatch.
#
# What RGW 16.2 does (as seen here):
#   - Signatures: AWS V4 (header, presigned query, aws-chunked streaming, UNSIGNED-PAYLOAD) and
#     V2 (header `AWS key:sig`, presigned `?AWSAccessKeyId=&Expires=&Signature=`) both accepted.
#   - Region: the zonegroup is "default"; RGW signs with whatever region the credential scope
#     names (default, us-east-1 and a made-up one all worked), so sign with "default".
#   - Path-style addressing works (http://127.0.0.1:PORT/bucket/key). Virtual-host style needs
#     rgw_dns_name (s3.localhost here; without it a Host of bkt.localhost is ignored and GET /
#     lists the buckets).
#   - Bucket names need at least 3 characters (InvalidBucketName).
#   - SigV4 header auth needs an x-amz-content-sha256 header (sha256 hex, UNSIGNED-PAYLOAD or
#     the streaming value); without it: 403 SignatureDoesNotMatch (curl 7.88 --aws-sigv4
#     omits it: add -H). Sub-resources without a value must be signed as `uploads=`.
#   - Multipart ETag (HEAD/GET/List): "<md5 of the parts' binary md5s>-<part count>", as AWS;
#     part ETags are the part's md5 (accepted with or without quotes in the Complete body).
#     BUT the CompleteMultipartUploadResult body has an EMPTY <ETag></ETag>: HEAD the object
#     if the ETag is needed. UploadId looks like "2~<32 chars>".
#   - Minimum part size 5 MiB (rgw_multipart_min_part_size) is enforced, but only at
#     CompleteMultipartUpload (400 EntityTooSmall), not at UploadPart; the last part may be
#     smaller (5 MiB + 1000 B and a lone 1 MiB part both complete). The failed Complete leaves
#     the upload listed (abort it).
#   - ListMultipartUploads includes NextKeyMarker/NextUploadIdMarker even when IsTruncated is
#     false; ListParts has an empty Owner; part ETags come back &quot;-escaped in XML.
#   - Anonymous GET / answers 200 with an empty ListAllMyBucketsResult (owner "anonymous"),
#     so it does not prove the user works; the readiness check signs instead.
#   - RGW creates its pools lazily: .rgw.root, default.rgw.{log,control,meta} at
#     `user create`, then default.rgw.buckets.{index,data} (and .non-ec for multipart) on
#     first use; with the paxos setting above each costs ~0.1 s.
#   - rclone 1.60 (Debian) fails with "LoadCustomCABundleError" when AWS_CA_BUNDLE is set in
#     the environment even for http endpoints: unset it for rclone.
#   - Stop order matters: radosgw blocks in shutdown if the OSD is gone first, and an OSD
#     waits 5 s for a dead mon; so rgw, then osd, then mon, each waited for (15 s, then KILL).
set -euo pipefail
unset CEPH_ARGS CEPH_CONF

STORE=${CEPH_RGW_OBJECTSTORE:-bluestore}
START_TIMEOUT=${CEPH_RGW_TIMEOUT:-150}
# Every daemon this script starts, in stop order (its pid file is DIR/run/NAME.pid).
DAEMONS=(client.rgw.a osd.0 mon.a)
STARTED=()

usage() {
  echo "usage: $0 start DIR | stop DIR | kill-rgw DIR | start-rgw DIR" >&2
  exit 2
}

log() { echo "ceph-rgw: $*" >&2; }

T0=$(date +%s.%N)
# phase TEXT: note in DIR/log/startup.log how many seconds after the start TEXT happened
phase() {
  awk -v a="$T0" -v b="$(date +%s.%N)" -v t="$*" 'BEGIN { printf "%6.2f s  %s\n", b - a, t }' \
    >>"$DIR/log/startup.log"
}

# ---------------------------------------------------------------- install
install_missing() {
  local c missing=() pkgs=(ceph-mon ceph-osd radosgw ceph-common python3)
  for c in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool python3 timeout awk; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${missing[*]}; as root: apt-get install -y --no-install-recommends ${pkgs[*]}"
    exit 1
  fi
  log "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
}

# ---------------------------------------------------------------- processes
pidfile() { echo "$DIR/run/$1.pid"; }

# alive PID: the process exists and is not a zombie (a daemon's parent is init, which may reap it late)
alive() {
  local st
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# live_pid NAME: the pid in NAME's pid file if that process is alive and is ours (its command
# line names our ceph.conf), so a recycled pid is never killed
live_pid() {
  local f pid
  f=$(pidfile "$1")
  [ -s "$f" ] || return 1
  pid=$(tr -dc 0-9 <"$f")
  [ -n "$pid" ] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/ceph.conf" || return 1
  echo "$pid"
}

stop_all() {
  local n pid i
  for n in "${DAEMONS[@]}"; do
    pid=$(live_pid "$n") || { rm -f "$(pidfile "$n")"; continue; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      log "$n (pid $pid) still runs 15 s after SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    fi
    rm -f "$(pidfile "$n")"
  done
}

fail() {
  log "FAILED: $*"
  local f
  for f in "$DIR"/log/*.log "$DIR"/log/*.out; do
    [ -s "$f" ] || continue
    echo "----- tail of $f" >&2
    tail -n 20 "$f" >&2
  done
  stop_all
  exit 1
}

# seconds left until the start deadline (at least 1, for `timeout`)
left() {
  local s=$(( DEADLINE - $(date +%s) ))
  [ "$s" -gt 0 ] && echo "$s" || echo 1
}

CEPH() { timeout 20 ceph -c "$DIR/ceph.conf" --connect-timeout 10 "$@"; }

# wait_for DESCRIPTION COMMAND...: retry every 0.2 s until COMMAND succeeds; fail at the
# deadline or as soon as a daemon started so far has died
wait_for() {
  local what=$1 n; shift
  while ! "$@" >/dev/null 2>&1; do
    for n in "${STARTED[@]}"; do
      live_pid "$n" >/dev/null || fail "$n died while waiting for $what"
    done
    [ $(( DEADLINE - $(date +%s) )) -gt 0 ] || fail "timed out waiting for $what"
    sleep 0.2
  done
}

free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# s3_list_buckets ENDPOINT ACCESS SECRET REGION: a SigV4-signed ListBuckets; 0 if the bucket list came back
s3_list_buckets() {
  python3 - "$@" <<'EOF'
import datetime, hashlib, hmac, sys, urllib.request
endpoint, ak, sk, region = sys.argv[1:5]
host = endpoint.split("://", 1)[1]
now = datetime.datetime.now(datetime.timezone.utc)
amzdate, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
empty = hashlib.sha256(b"").hexdigest()
signed = "host;x-amz-content-sha256;x-amz-date"
canon = "\n".join(["GET", "/", "", "host:" + host, "x-amz-content-sha256:" + empty,
                   "x-amz-date:" + amzdate, "", signed, empty])
scope = f"{day}/{region}/s3/aws4_request"
sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(canon.encode()).hexdigest()])
def h(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
key = h(h(h(h(("AWS4" + sk).encode(), day), region), "s3"), "aws4_request")
sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(endpoint + "/", headers={
    "x-amz-date": amzdate, "x-amz-content-sha256": empty,
    "Authorization": f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders={signed}, Signature={sig}"})
body = urllib.request.urlopen(req, timeout=5).read()
sys.exit(0 if b"ListAllMyBucketsResult" in body else 1)
EOF
}

# ---------------------------------------------------------------- start
start() {
  install_missing
  DEADLINE=$(( $(date +%s) + START_TIMEOUT ))
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  local n
  for n in "${DAEMONS[@]}"; do
    if live_pid "$n" >/dev/null; then log "$n already runs for $DIR; stop it first"; exit 1; fi
  done
  [ ! -e "$DIR/ceph.conf" ] || { log "$DIR already holds a cluster; give an empty folder"; exit 1; }
  mkdir -p "$DIR"/{run,log,mon,osd/ceph-0,rgw,crash,tmp}

  local mon_port rgw_port tls_port fsid
  read -r mon_port rgw_port tls_port < <(free_ports 3)
  # A self-signed certificate for the https endpoint, valid for s3.localhost, its subdomains
  # (virtual-hosted buckets; curl takes no wildcard with fewer than two dots after it, so not
  # *.localhost) and 127.0.0.1; clients trust it through AWS_CA_BUNDLE.
  mkdir -p "$DIR/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,DNS:s3.localhost,DNS:*.s3.localhost,IP:127.0.0.1" \
    -keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" >"$DIR/log/tls.log" 2>&1 || fail "openssl req"
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')

  cat >"$DIR/ceph.conf" <<EOF
# private test cluster made by scripts/ceph-rgw.sh; see its header
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$mon_port
mon_initial_members = a
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_cluster_mode = crc
ms_service_mode = crc
ms_client_mode = crc
ms_mon_cluster_mode = crc
ms_mon_service_mode = crc
ms_mon_client_mode = crc
keyring = $DIR/keyring
run_dir = $DIR/run
log_file = $DIR/log/\$name.log
mon_cluster_log_file = $DIR/log/cluster.log
crash_dir = $DIR/crash
tmp_dir = $DIR/tmp
log_to_stderr = false
err_to_stderr = false
mon_data = $DIR/mon/\$name
osd_data = $DIR/osd/ceph-\$id
osd_objectstore = $STORE
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_crush_initial_weight = 1
mon_data_avail_warn = 2
mon_data_avail_crit = 1
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
osd_memory_target = 536870912
osd_memory_base = 268435456
osd_memory_cache_min = 67108864
bluestore_cache_autotune = false
bluestore_cache_size = 67108864
bluestore_block_size = 10737418240
bluestore_block_create = true
bluestore_fsck_on_mkfs = false
bdev_aio_poll_ms = 20
memstore_device_bytes = 4294967296
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
[mon]
pid_file = $DIR/run/\$name.pid
admin_socket = $DIR/run/\$name.asok
[osd]
# A gateway killed by a fault test leaves its watches on the control objects; until the OSD
# drops them (30 s by default) the next gateway's notifies wait for the dead one, and S3
# requests stalled ~20 s after every restart.
osd_client_watch_timeout = 5
pid_file = $DIR/run/\$name.pid
admin_socket = $DIR/run/\$name.asok
[client.rgw.a]
pid_file = $DIR/run/\$name.pid
admin_socket = $DIR/run/\$name.asok
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port ssl_endpoint=127.0.0.1:$tls_port ssl_certificate=$DIR/tls/cert.pem ssl_private_key=$DIR/tls/key.pem
# Virtual-hosted addressing for http(s)://BUCKET.s3.localhost:PORT (curl resolves *.localhost
# to loopback itself); path-style requests to 127.0.0.1 or s3.localhost work as before.
rgw_dns_name = s3.localhost
rgw_data = $DIR/rgw
rgw_thread_pool_size = 32
rgw_enable_usage_log = false
rgw_enable_ops_log = false
# SSE-C over plain http on loopback (RGW refuses customer keys without TLS otherwise).
rgw_crypt_require_ssl = false
EOF

  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mgr 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$DIR/monmap" \
    >"$DIR/log/mkfs-mon.log" 2>&1 || fail "monmaptool"

  # --- mon
  ceph-mon -c "$DIR/ceph.conf" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
    >>"$DIR/log/mkfs-mon.log" 2>&1 || fail "ceph-mon --mkfs"
  phase "mon mkfs done"
  ceph-mon -c "$DIR/ceph.conf" -i a >>"$DIR/log/mkfs-mon.log" 2>&1 || fail "ceph-mon start"
  STARTED+=(mon.a)
  wait_for "the monitor" CEPH mon stat
  phase "mon answers"

  # --- osd
  local osd_uuid osd_id
  osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  osd_id=$(CEPH osd new "$osd_uuid" 2>>"$DIR/log/mkfs-osd.log") || fail "ceph osd new"
  [ "$osd_id" = 0 ] || fail "unexpected osd id '$osd_id'"
  timeout "$(left)" ceph-osd -c "$DIR/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" \
    >>"$DIR/log/mkfs-osd.log" 2>&1 || fail "ceph-osd --mkfs"
  phase "osd mkfs done"
  ceph-osd -c "$DIR/ceph.conf" -i 0 >>"$DIR/log/mkfs-osd.log" 2>&1 || fail "ceph-osd start"
  STARTED+=(osd.0)
  osd_up() { CEPH osd dump 2>/dev/null | grep '^osd\.0 up' >/dev/null; }
  wait_for "osd.0 to come up" osd_up
  phase "osd up"

  # --- S3 user (radosgw-admin also creates the zone's first pools and waits for them)
  local ak sk
  ak=$(python3 -c 'import secrets, string; a = string.ascii_uppercase + string.digits; print("".join(secrets.choice(a) for _ in range(20)))')
  sk=$(python3 -c 'import secrets; print(secrets.token_urlsafe(30))')
  timeout "$(left)" radosgw-admin -c "$DIR/ceph.conf" user create --uid=test \
    --display-name="fastbackup test" --access-key="$ak" --secret-key="$sk" \
    >"$DIR/log/user-create.log" 2>&1 || fail "radosgw-admin user create"
  mv "$DIR/log/user-create.log" "$DIR/log/user-create.json"
  phase "user created"

  # --- rgw (it forks once it has reached the cluster)
  timeout "$(left)" radosgw -c "$DIR/ceph.conf" -n client.rgw.a >"$DIR/log/radosgw.out" 2>&1 \
    || fail "radosgw start"
  STARTED+=(client.rgw.a)
  phase "radosgw forked"
  local endpoint=http://127.0.0.1:$rgw_port
  wait_for "the S3 gateway at $endpoint" s3_list_buckets "$endpoint" "$ak" "$sk" default
  phase "S3 ListBuckets answered"

  cat >"$DIR/env.tmp" <<EOF
S3_ENDPOINT=$endpoint
S3_TLS_ENDPOINT=https://s3.localhost:$tls_port
S3_CA_BUNDLE=$DIR/tls/cert.pem
AWS_ACCESS_KEY_ID=$ak
AWS_SECRET_ACCESS_KEY=$sk
AWS_DEFAULT_REGION=default
CEPH_CONF=$DIR/ceph.conf
EOF
  mv "$DIR/env.tmp" "$DIR/env"
  log "ready: $endpoint (credentials in $DIR/env)"
}

# kill-rgw: the gateway dies at once (SIGKILL), as when its host fails; mon and OSD stay.
kill_rgw() {
  local pid i
  pid=$(live_pid client.rgw.a) || { log "radosgw is not running"; return 0; }
  kill -KILL "$pid"
  for i in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  rm -f "$(pidfile client.rgw.a)"
}

# start-rgw: the gateway again on the same port, after kill-rgw; ready when a signed
# ListBuckets answers (30 s at most).
start_rgw() {
  [ -s "$DIR/env" ] || { log "no $DIR/env: start the cluster first"; exit 1; }
  live_pid client.rgw.a >/dev/null && return 0
  local S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY i
  eval "$(grep -E '^(S3_ENDPOINT|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=' "$DIR/env")"
  timeout 30 radosgw -c "$DIR/ceph.conf" -n client.rgw.a >>"$DIR/log/radosgw.out" 2>&1 \
    || { log "radosgw did not start again"; exit 1; }
  for i in $(seq 1 150); do
    s3_list_buckets "$S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" default >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  log "radosgw started again but does not answer at $S3_ENDPOINT"
  exit 1
}

[ $# -eq 2 ] || usage
DIR=$2
case $1 in
  start) start ;;
  stop)
    [ -d "$DIR" ] || exit 0
    DIR=$(cd "$DIR" && pwd)
    stop_all
    ;;
  kill-rgw) DIR=$(cd "$DIR" && pwd); kill_rgw ;;
  start-rgw) DIR=$(cd "$DIR" && pwd); start_rgw ;;
  *) usage ;;
esac
