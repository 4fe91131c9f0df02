# idle-timeout, reset: the NLB's flow table (conntrack in the nlb namespace)
# forgets a flow idle for 4 s and answers its next packet with a TCP reset.
# The gateway's pooled upstream connections outlive that (upstream
# keepalive_timeout 60 s), so after a quiet period longer than 4 s the
# gateway sends the request on a forgotten flow, meets the reset and, not
# retrying (proxy_next_upstream off, as API Gateway answers 502), answers 502.
SUMMARY="conntrack forgets flows idle 4 s and resets them; the gateway's pool keeps them 60 s → 502 after long quiet periods"
CAUSE=idle-timeout
# Three targets, one per backend: each round after a quiet gap sends one
# request per backend (nginx's round robin), each on the pooled connection
# idle for that gap (keepalive 3: one per backend after a round). After a
# failed round the pool is empty, so a 1 s gap refills it before each long one.
PATHS="/a /b /c"
PLAN="--idle-sweep 1s,5s,1s,7s,1s,9s"
NLB_ESTABLISHED_TIMEOUT=4
NLB_EXPIRED="reject with tcp reset"
GW_NEXT_UPSTREAM=off
