# dns-timeout: dnsmasq's namespace drops every fifth query that reaches it
# (the 1st, 6th, 11th …: a counter, not chance, so every run loses the same
# share); the client's resolver waits its timer (5 s) and asks again.
SUMMARY="every 5th DNS query to dnsmasq is dropped; the client's resolver retries after its 5 s timer"
CAUSE=dns-timeout
PLAN="--quick"
DNS_INPUT_RULES="    udp dport 53 numgen inc mod 5 == 0 drop"
