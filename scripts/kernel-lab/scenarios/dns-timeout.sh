# dns-timeout: dnsmasq's namespace drops a fifth of the queries that reach
# it; the client's resolver waits its timer (5 s, resolv.conf's) and asks again.
SUMMARY="20 % of DNS queries to dnsmasq are dropped; the client's resolver retries after its 5 s timer"
CAUSE=dns-timeout
PLAN="--quick"
DNS_INPUT_RULES="    udp dport 53 numgen random mod 100 < 20 drop"
