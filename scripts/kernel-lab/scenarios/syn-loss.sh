# syn-loss: the gateway drops 3 of every 10 SYNs that reach it from the
# client (the 1st, 5th and 6th of each ten: a counter, not chance, so every
# run loses the same share); the client's kernel resends them on its own
# schedule. Connects one after another: the first waits 1 s (one SYN
# lost), the next two go through, the fourth waits 2 s (two lost), three go
# through; then again.
SUMMARY="3 of every 10 SYNs from the client to the gateway are dropped; the kernel resends them (1 s, 2 s stalls)"
CAUSE=syn-loss
PLAN="--quick"
GW_INPUT_RULES="    tcp dport 80 tcp flags & (syn | ack) == syn numgen inc mod 10 { 0, 4, 5 } drop"
