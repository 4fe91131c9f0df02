# syn-loss: the gateway drops 30 % of the SYNs that reach it from the
# client; the client's kernel resends them on its own schedule (1 s first).
SUMMARY="30 % of the client's SYNs to the gateway are dropped; the kernel resends them"
CAUSE=syn-loss
PLAN="--quick"
GW_INPUT_RULES="    tcp dport 80 tcp flags & (syn | ack) == syn numgen random mod 100 < 30 drop"
