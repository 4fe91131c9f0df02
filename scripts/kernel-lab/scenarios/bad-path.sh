# bad-path: one backend of three is behind a black hole (its SYNs vanish).
# nginx's round robin sends every third request there; it gives up after
# proxy_connect_timeout (2 s) and retries the next backend
# (proxy_next_upstream error timeout). max_fails=0 keeps the dead backend in
# the rotation, as an NLB keeps a third of the flows on a dead path.
SUMMARY="backend 3 of 3 black-holes SYNs; every third request waits the gateway's 2 s connect timeout, then is retried"
CAUSE=bad-path
PLAN="--quick"
GW_CONNECT_TIMEOUT=2s
BE_INPUT_RULES="    ip daddr 10.77.3.4 tcp dport 80 drop"
