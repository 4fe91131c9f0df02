# idle-timeout, silent drop: the same 4 s conntrack timer, but a packet of a
# forgotten flow is dropped (a NAT's behaviour). The gateway's request on a
# pooled connection vanishes; nginx waits its proxy_read_timeout (2 s) and
# answers 504.
SUMMARY="conntrack forgets flows idle 4 s and drops their packets; the gateway waits 2 s and answers 504"
CAUSE=idle-timeout
PATHS="/a /b /c"
PLAN="--idle-sweep 1s,5s,1s,7s,1s,9s"
NLB_ESTABLISHED_TIMEOUT=4
NLB_EXPIRED="drop"
GW_NEXT_UPSTREAM=off
GW_READ_TIMEOUT=2s
