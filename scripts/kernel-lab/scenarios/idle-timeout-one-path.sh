# idle-timeout on one path, as a user probes it: one target, nginx's round
# robin over three backends, no gaps to refill the pool. conntrack forgets
# flows idle 4 s and resets them. Each request meets the pooled connection
# to its backend, idle since that backend's last request, and a failed one
# leaves nothing in the pool.
SUMMARY="one target over three backends; conntrack forgets flows idle 5 s and resets them → 502s, some after short gaps"
CAUSE=idle-timeout
PLAN="--idle-sweep 1s,5s,1s,7s,1s,9s"
NLB_ESTABLISHED_TIMEOUT=5
NLB_EXPIRED="reject with tcp reset"
GW_NEXT_UPSTREAM=off
