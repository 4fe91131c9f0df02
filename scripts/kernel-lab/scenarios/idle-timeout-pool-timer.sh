# idle-timeout cut short by the pool's own timer: conntrack forgets flows
# idle 4 s and resets them, and the gateway's pool closes its idle upstream
# connections itself after 10 s (upstream keepalive_timeout). One target,
# and one backend behind the gateway (as API Gateway's VPC link pools
# connections to the NLB's one address), so each request after a quiet gap
# meets the pooled connection idle for that gap: after 5–8 s it meets a
# forgotten flow (502); after 13 s nginx has already closed that connection
# and opens a fresh one: a success after the failures, which does not end
# the step. A request after a failure goes out on a new connection (the
# failed one was closed), so a 1 s gap refills the pool before each long one.
SUMMARY="conntrack forgets flows idle 4 s and resets them; the gateway's pool closes idle connections at 10 s → 502 after 5–8 s, fine again after 13 s"
CAUSE=idle-timeout
PLAN="--idle-sweep 1s,5s,1s,7s,1s,13s"
GW_BACKENDS="10.77.3.2"
GW_KEEPALIVE_TIMEOUT=10s
NLB_ESTABLISHED_TIMEOUT=4
NLB_EXPIRED="reject with tcp reset"
GW_NEXT_UPSTREAM=off
