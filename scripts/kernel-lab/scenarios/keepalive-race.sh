# keepalive-race: the backends close idle keep-alive connections after 2 s,
# far below the gateway's upstream keepalive_timeout (60 s). nginx watches
# its idle upstream connections and drops one as soon as the backend's FIN
# arrives, so on a clean link the race lasts a round trip. Here the NLB
# drops the first five FINs of each backend connection (a ct mark counts
# them), as a lossy path would: the backend's kernel resends its FIN after
# about 0.2, 0.4, 0.9, 1.7 and 3.4 s (measured with tcpdump on this kernel),
# and until one arrives the gateway still believes in the connection. A
# request sent in that window reaches a backend that has closed: it answers
# with a reset, and the gateway (not retrying) answers 502. After the window
# the FIN has arrived, the pool has let the connection go, and the next
# request opens a new one: fine again. The window: gaps of 2 s to about 5.3 s.
SUMMARY="backends close idle connections at 2 s, their FIN reaches the gateway 3.4 s later → 502 for gaps between"
CAUSE=keepalive-race
PATHS="/a /b /c"
# After a failed round the pool is empty (its next round is on new
# connections whatever the gap), so a 1 s gap refills it before each test.
PLAN="--idle-sweep 1s,2.5s,1s,3.5s,1s,4.5s,1s,7s,1s,10s"
BE_KEEPALIVE_TIMEOUT=2s
GW_NEXT_UPSTREAM=off
NLB_FORWARD_RULES=""
for fin in 4 3 2 1 0; do
  NLB_FORWARD_RULES="$NLB_FORWARD_RULES    ip saddr 10.77.3.0/24 tcp flags & fin == fin ct mark $fin ct mark set $((fin + 1)) drop
"
done
