"""An HTTP/1.1 backend that waits a known time before it answers, for the
phase-fidelity check (scripts/phase-fidelity.sh): TTFB must read that wait
plus the round trip.

    python3 scripts/lib/sleepy_http.py ADDR PORT DELAY_MS READY_FILE

Keep-alive, one thread per connection; every request (a GET, no body) is
answered with one write of a small response after DELAY_MS, waited with
time.sleep (clock_nanosleep, where an asyncio loop's epoll timeout would
round up to the millisecond). The answer still leaves late: 0.3–1 ms at
the median on the 2-core test machine under load (docs/performance.md:
the thread's wake-up and Python's own work), more in the tail. That does
not enter the check, which compares each probe with its own packets.
TCP_NODELAY, so that the answer leaves as soon as it is written. READY_FILE is written once the
socket listens: the script waits for it instead of sleeping.
"""

import socket
import socketserver
import sys
import time

BODY = b"ok\n"


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            close = b"\nconnection: close" in head.lower()
            time.sleep(self.server.delay)
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s"
                % (len(BODY), b"Connection: close\r\n" if close else b"", BODY)
            )
            if close:
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    addr, port, delay_ms, ready = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    with Server((addr, port), Handler) as server:
        server.delay = delay_ms / 1000.0
        with open(ready, "w") as f:
            f.write("%s:%d\n" % server.server_address)
        server.serve_forever()


if __name__ == "__main__":
    main()
