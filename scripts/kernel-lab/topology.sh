# Sourced by scripts/kernel-lab.sh: the kernel lab's path, in one place.
#
#   client ──veth── gw (nginx: proxy_pass to an upstream of three backends
#     │                 with a keep-alive pool, standing in for API Gateway's)
#     │                  ──veth── nlb (a router: conntrack in its forward chain,
#     │                                expired flows reset or dropped)
#     │                                 ──veth── be (nginx: three server blocks,
#     │                                             one address each)
#     └──veth── dns (dnsmasq: *.klab.test → the gateway)
#
# Every namespace is clk-LAB-ROLE (LAB = OWNER-TAG, OWNER a live pid: see
# scripts/lib/netns.sh). Addresses are fixed: each lab has namespaces of its
# own, so two labs never see each other's. The scenario's knobs (the
# variables below, set by scripts/kernel-lab/scenarios/NAME.sh or `up --set`)
# are read here and nowhere else.
#
# klab_build runs under `set -e` in a subshell of its own (kernel-lab.sh):
# any step that fails stops the build, and klab_step names the step for the
# "did not come up" line.

KLAB_ROLES="client gw nlb be dns"
KLAB_GW_ADDR=10.77.1.1
KLAB_CLIENT_ADDR=10.77.1.2
KLAB_DNS_ADDR=10.77.53.1
KLAB_BACKENDS="10.77.3.2 10.77.3.3 10.77.3.4"

# The knobs `up --set KNOB=VALUE` may change (those klab_defaults sets).
KLAB_KNOBS="SUMMARY CAUSE HOSTS PATHS PLAN GW_BACKENDS GW_KEEPALIVE GW_KEEPALIVE_TIMEOUT
  GW_CONNECT_TIMEOUT GW_READ_TIMEOUT GW_NEXT_UPSTREAM GW_INPUT_RULES
  NLB_ESTABLISHED_TIMEOUT NLB_EXPIRED NLB_FORWARD_RULES BE_KEEPALIVE_TIMEOUT
  BE_INPUT_RULES DNS_INPUT_RULES"

# What the build is doing, for the line that says where it stopped.
klab_step() { KLAB_STEP=$*; }

# The knobs and their defaults: a healthy path.
klab_defaults() {
  SUMMARY="healthy"
  CAUSE=healthy
  # coldlink's targets: paths on the gateway, and the host names they use.
  HOSTS="api.klab.test"
  PATHS="/"
  # The plan the tests run and `up` suggests (coldlink diagnose flags).
  PLAN="--quick"
  # Gateway (nginx): its upstream pool and timers.
  GW_BACKENDS="$KLAB_BACKENDS"       # the upstream's servers (of KLAB_BACKENDS)
  GW_KEEPALIVE=3                     # idle pooled connections per worker
  GW_KEEPALIVE_TIMEOUT=60s           # upstream keepalive_timeout (nginx's default)
  GW_CONNECT_TIMEOUT=5s              # proxy_connect_timeout
  GW_READ_TIMEOUT=30s                # proxy_read_timeout
  GW_NEXT_UPSTREAM="error timeout"   # proxy_next_upstream
  GW_INPUT_RULES=""                  # nft rules in the gateway's input chain
  # "NLB": conntrack's established timeout (empty: the kernel's 5 days) and
  # what happens to a packet of a flow it no longer knows.
  NLB_ESTABLISHED_TIMEOUT=""
  NLB_EXPIRED="reject with tcp reset"
  NLB_FORWARD_RULES=""               # more nft rules in its forward chain
  # Backends (nginx, one server block per address).
  BE_KEEPALIVE_TIMEOUT=75s
  BE_INPUT_RULES=""
  # Resolver.
  DNS_INPUT_RULES=""
}

# nft: one table of the lab's in a namespace, a chain on HOOK with RULES.
klab_nft() {
  local ns=$1 hook=$2 rules=$3
  klab_step "nft rules in $ns ($hook chain)"
  ip netns exec "$ns" nft -f - <<NFT
table inet klab {
  chain $hook {
    type filter hook $hook priority 0; policy accept;
$rules
  }
}
NFT
}

klab_ns() { echo "$NETNS_PREFIX-$LAB-$1"; }

klab_links() {
  local c gw nlb be dns
  c=$(klab_ns client) gw=$(klab_ns gw) nlb=$(klab_ns nlb) be=$(klab_ns be) dns=$(klab_ns dns)
  klab_step "veth client ↔ gw"
  netns_link "$c" c-gw "$KLAB_CLIENT_ADDR/24" "$gw" gw-c "$KLAB_GW_ADDR/24"
  klab_step "veth client ↔ dns"
  netns_link "$c" c-dns 10.77.53.2/24 "$dns" dns-c "$KLAB_DNS_ADDR/24"
  klab_step "veth gw ↔ nlb"
  netns_link "$gw" gw-nlb 10.77.2.1/24 "$nlb" nlb-gw 10.77.2.2/24
  klab_step "veth nlb ↔ be"
  netns_link "$nlb" nlb-be 10.77.3.1/24 "$be" be-nlb 10.77.3.2/24
  klab_step "the backends' addresses in $be"
  ip -n "$be" addr add 10.77.3.3/24 dev be-nlb
  ip -n "$be" addr add 10.77.3.4/24 dev be-nlb
  klab_step "routes in $gw and $be"
  netns_route "$gw" 10.77.2.2 10.77.3.0/24
  netns_route "$be" 10.77.3.1
  klab_step "ip_forward in $nlb"
  netns_forwarding "$nlb"
  klab_step "resolv.conf of $c"
  # The resolver for anything run in the client namespace (`ip netns exec`
  # mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf; netns_delete
  # removes it): glibc's timer, so a lost query costs 5 s.
  mkdir -p "/etc/netns/$c"
  printf 'nameserver %s\noptions timeout:5 attempts:2\n' "$KLAB_DNS_ADDR" >"/etc/netns/$c/resolv.conf"
}

klab_firewalls() {
  local nlb
  nlb=$(klab_ns nlb)
  # The NLB: every forwarded packet goes through conntrack; one of a flow
  # conntrack has forgotten (idle past its established timeout, and with
  # tcp_loose=0 never picked up again mid-stream) is invalid.
  klab_nft "$nlb" forward "    ct state invalid meta l4proto tcp $NLB_EXPIRED
$NLB_FORWARD_RULES"
  if [ -n "$NLB_ESTABLISHED_TIMEOUT" ]; then
    klab_step "conntrack sysctls in $nlb (established timeout $NLB_ESTABLISHED_TIMEOUT)"
    ip netns exec "$nlb" sysctl -qw \
      "net.netfilter.nf_conntrack_tcp_timeout_established=$NLB_ESTABLISHED_TIMEOUT" \
      net.netfilter.nf_conntrack_tcp_loose=0
  fi
  [ -z "$GW_INPUT_RULES" ] || klab_nft "$(klab_ns gw)" input "$GW_INPUT_RULES"
  [ -z "$BE_INPUT_RULES" ] || klab_nft "$(klab_ns be)" input "$BE_INPUT_RULES"
  [ -z "$DNS_INPUT_RULES" ] || klab_nft "$(klab_ns dns)" input "$DNS_INPUT_RULES"
}

# The http block's common part: files in DIR, nothing in /var.
klab_nginx_common() {
  local dir=$1 name=$2
  cat <<CONF
pid $dir/$name.pid;
error_log $dir/$name-error.log info;
events { worker_connections 1024; }
http {
  log_format klab '\$time_iso8601 \$msec \$remote_addr:\$remote_port "\$request" \$status '
                  'conn=\$connection req=\$connection_requests rt=\$request_time '
                  'upstream=\$upstream_addr ustatus=\$upstream_status '
                  'uconnect=\$upstream_connect_time uheader=\$upstream_header_time';
  access_log $dir/$name-access.log klab;
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  keepalive_requests 1000000;
CONF
}

# Wait (up to 5 s) for a daemon's pid file: nginx and dnsmasq return once
# they listen, but their daemon child writes the file a moment later, and
# teardown and the tests read it.
klab_wait_pidfile() {
  local file=$1 _
  for _ in $(seq 100); do
    [ ! -s "$file" ] || return 0
    sleep 0.05
  done
  echo "kernel lab: no pid in $file after 5 s" >&2
  return 1
}

klab_start_nginx() {
  local ns=$1 dir=$2 name=$3 nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  klab_step "nginx ($name) in $ns"
  # Daemonised: nginx returns once its sockets listen. Its error log is
  # shown here: a default lab folder is removed with the failed lab.
  if ! ip netns exec "$ns" "$nginx" -c "$dir/$name.conf" -p "$dir" -e "$dir/$name-error.log"; then
    tail -n 5 "$dir/$name-error.log" 2>/dev/null | sed 's/^/  /' >&2
    return 1
  fi
  klab_wait_pidfile "$dir/$name.pid"
}

klab_gateway() {
  local dir=$1 b servers=""
  for b in $GW_BACKENDS; do
    # max_fails=0: a backend that fails is tried again on its turn, as an
    # NLB keeps sending a share of flows to a bad path.
    servers="$servers    server $b:80 max_fails=0;
"
  done
  {
    echo "worker_processes 1;"
    klab_nginx_common "$dir" gw
    cat <<CONF
  keepalive_timeout 75s;
  upstream backends {
$servers    keepalive $GW_KEEPALIVE;
    keepalive_timeout $GW_KEEPALIVE_TIMEOUT;
    keepalive_requests 1000000;
  }
  server {
    listen $KLAB_GW_ADDR:80 backlog=1024;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout $GW_CONNECT_TIMEOUT;
      proxy_read_timeout $GW_READ_TIMEOUT;
      proxy_next_upstream $GW_NEXT_UPSTREAM;
    }
  }
}
CONF
  } >"$dir/gw.conf"
  klab_start_nginx "$(klab_ns gw)" "$dir" gw
}

klab_backends() {
  local dir=$1 b i=0
  {
    echo "worker_processes 1;"
    klab_nginx_common "$dir" be
    echo "  keepalive_timeout $BE_KEEPALIVE_TIMEOUT;"
    for b in $KLAB_BACKENDS; do
      i=$((i + 1))
      cat <<CONF
  server {
    listen $b:80;
    location / { default_type text/plain; return 200 "backend $i\n"; }
  }
CONF
    done
    echo "}"
  } >"$dir/be.conf"
  klab_start_nginx "$(klab_ns be)" "$dir" be
}

klab_resolver() {
  local dir=$1 h records=""
  # One host-record per name: an A record, and an empty answer (NOERROR, no
  # data) for AAAA, as a real zone without IPv6 gives. (`address=/klab.test/`
  # alone leaves AAAA to upstream servers, and with none dnsmasq REFUSEs it:
  # resolvers then ask again and the DNS phase grows.) Other names under
  # klab.test are NXDOMAIN (`local=`).
  for h in $HOSTS; do records="${records}host-record=$h,$KLAB_GW_ADDR
"; done
  cat >"$dir/dnsmasq.conf" <<CONF
no-resolv
no-hosts
listen-address=$KLAB_DNS_ADDR
bind-interfaces
local=/klab.test/
${records}log-queries
log-facility=$dir/dnsmasq.log
pid-file=$dir/dnsmasq.pid
user=root
CONF
  klab_step "dnsmasq in $(klab_ns dns)"
  # Daemonised too: dnsmasq returns once it listens.
  if ! ip netns exec "$(klab_ns dns)" dnsmasq --conf-file="$dir/dnsmasq.conf"; then
    tail -n 5 "$dir/dnsmasq.log" 2>/dev/null | sed 's/^/  /' >&2
    return 1
  fi
  klab_wait_pidfile "$dir/dnsmasq.pid"
}

klab_build() {
  local dir=$1 role
  klab_step "the lab's folder $dir"
  mkdir -p "$dir/tmp"
  for role in $KLAB_ROLES; do
    klab_step "namespace $(klab_ns "$role")"
    netns_new "$LAB" "$role" >/dev/null
  done
  klab_links
  klab_firewalls
  klab_step "the backends' nginx config"
  klab_backends "$dir"
  klab_step "the gateway's nginx config"
  klab_gateway "$dir"
  klab_step "dnsmasq's config"
  klab_resolver "$dir"
  klab_step ""
}
