# Sourced by the scripts that build throw-away network namespaces (the kernel
# lab, the phase-fidelity check). Every namespace they make is named
#
#   clk-OWNER-ROLE      OWNER: the pid of the process that owns the run
#
# so that a run only ever touches its own namespaces, and a namespace whose
# owner is gone (a crashed or killed run) is recognisable and removed by the
# next run. Nothing here changes the machine's own namespace: links are
# created directly inside the namespaces they join.
#
#   netns_require             → exit 77 with a reason unless root, ip and nft
#   netns_reap_stale          → delete every clk-* namespace whose owner is dead
#   netns_new OWNER ROLE      → create clk-OWNER-ROLE with lo up; prints its name
#   netns_link NS_A IF_A ADDR_A NS_B IF_B ADDR_B
#                             → a veth pair, ADDR in CIDR form, both ends up
#   netns_route NS VIA [DEST] → a route (default unless DEST) in NS
#   netns_forwarding NS       → NS routes between its links
#   netns_teardown OWNER      → kill what runs in clk-OWNER-*, delete them

NETNS_PREFIX=clk

netns_require() {
  if [ "$(id -u)" != 0 ]; then
    echo "kernel lab: skipped: needs root (network namespaces, nftables)" >&2
    exit 77
  fi
  local tool
  for tool in ip nft; do
    if ! command -v "$tool" >/dev/null; then
      echo "kernel lab: skipped: \`$tool\` is not installed (apt-get install iproute2 nftables)" >&2
      exit 77
    fi
  done
}

# The owner pid in a clk-OWNER-ROLE name, or nothing.
netns_owner() {
  local name=$1
  case $name in
    "$NETNS_PREFIX"-[0-9]*-*) name=${name#"$NETNS_PREFIX"-}; echo "${name%%-*}" ;;
  esac
}

netns_delete() {
  local ns=$1 pid
  for pid in $(ip netns pids "$ns" 2>/dev/null); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "/etc/netns/$ns"
}

netns_reap_stale() {
  local ns owner
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    owner=$(netns_owner "$ns")
    [ -n "$owner" ] || continue
    if ! kill -0 "$owner" 2>/dev/null; then
      echo "kernel lab: removing stale namespace $ns (its run, pid $owner, is gone)" >&2
      netns_delete "$ns"
    fi
  done
}

netns_new() {
  local ns="$NETNS_PREFIX-$1-$2"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  echo "$ns"
}

netns_link() {
  local ns_a=$1 if_a=$2 addr_a=$3 ns_b=$4 if_b=$5 addr_b=$6
  ip link add name "$if_a" netns "$ns_a" type veth peer name "$if_b" netns "$ns_b"
  ip -n "$ns_a" addr add "$addr_a" dev "$if_a"
  ip -n "$ns_b" addr add "$addr_b" dev "$if_b"
  ip -n "$ns_a" link set "$if_a" up
  ip -n "$ns_b" link set "$if_b" up
}

netns_route() {
  ip -n "$1" route add "${3:-default}" via "$2"
}

netns_forwarding() {
  ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1
}

netns_teardown() {
  local owner=$1 ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case $ns in
      "$NETNS_PREFIX-$owner"-*) netns_delete "$ns" ;;
    esac
  done
}
