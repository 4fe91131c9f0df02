"""An independent SigV4 verifier for coldlink's tests (issue #16).

A loopback HTTP/1.1 keep-alive server that recomputes the signature of each
request with botocore's own SigV4 (botocore.auth.SigV4Auth: the signer of
every AWS CLI call), from the known credentials, the request's x-amz-date
and exactly the headers its SignedHeaders lists, and answers as API Gateway
would: 200 when the signature matches, else 403 with API Gateway's
x-amzn-errortype and JSON body.

    python verifier.py --access-key AKID --secret S --region R --service execute-api
                       [--token T] [--clock-offset SECONDS]

Binds 127.0.0.1 port 0 and prints "port N" on stdout. --clock-offset makes
the server's clock run that far ahead, so that the signature's time is
honestly out of the 5-minute window API Gateway allows.
"""

import argparse
import datetime
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# Headers API Gateway refuses to see signed (hop-by-hop) and those that
# change per request; a client that signs them is wrong.
NEVER_SIGNED = {"connection", "keep-alive", "user-agent", "x-amzn-trace-id", "transfer-encoding"}
SKEW = datetime.timedelta(minutes=5)
AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


def verify(args, method, url, get_all, body):
    """API Gateway's answer to one request: (200, None, None) when its
    signature is botocore's, else (403, x-amzn-errortype, message)."""
    get = lambda name: (get_all(name) or [None])[0]
    refuse = lambda errortype, message: (403, errortype, message)
    auth = get("authorization")
    if not auth:
        return refuse("MissingAuthenticationTokenException", "Missing Authentication Token")
    m = AUTH.match(auth)
    if not m:
        return refuse("IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'.")
    if m["key"] != args.access_key or get("x-amz-security-token") != args.token:
        return refuse("UnrecognizedClientException", "The security token included in the request is invalid.")
    signed = m["signed"].split(";")
    amz_date = get("x-amz-date") or ""
    if "host" not in signed or "x-amz-date" not in signed or NEVER_SIGNED & set(signed):
        return refuse("InvalidSignatureException", f"bad SignedHeaders: {m['signed']}")
    if args.token and "x-amz-security-token" not in signed:
        return refuse("InvalidSignatureException", "x-amz-security-token not signed")
    if (m["region"], m["service"]) != (args.region, args.service):
        return refuse("InvalidSignatureException", f"Credential should be scoped to a valid region, not '{m['region']}'. Credential should be scoped to correct service: '{args.service}'.")
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=args.clock_offset)
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    fmt = lambda t: t.strftime("%Y%m%dT%H%M%SZ")
    if when < now - SKEW:
        return refuse("InvalidSignatureException", f"Signature expired: {amz_date} is now earlier than {fmt(now - SKEW)} ({fmt(now)} - 5 min.)")
    if when > now + SKEW:
        return refuse("InvalidSignatureException", f"Signature not yet current: {amz_date} is still later than {fmt(now + SKEW)} ({fmt(now)} + 5 min.)")

    # botocore's canonical request from exactly the signed headers; an
    # HTTP/2 request's :authority stands for its Host.
    headers = {name: ",".join(get_all(name)) for name in signed if name != "host"}
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    if get("host") is not None:
        request.headers["host"] = get("host")
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(args.access_key, args.secret, args.token), args.service, args.region)
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    if signer.signature(string_to_sign, request) != m["sig"]:
        return refuse(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n"
            f"The Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n",
        )
    return (200, None, None)


def check(args):
    """--check: verify one request given as JSON on stdin ({"method", "url",
    "headers": [[name, value], ...], "body"}) — one that another server
    received (HTTP/2) — and print "verified" or the refusal."""
    req = json.load(sys.stdin)
    get_all = lambda name: [v for k, v in req["headers"] if k == name]
    status, errortype, message = verify(args, req["method"], req["url"], get_all, req.get("body", "").encode())
    print("verified" if status == 200 else f"{errortype}: {message}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--token")
    p.add_argument("--region", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--clock-offset", type=float, default=0.0)
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    if args.check:
        return check(args)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status, body, errortype=None):
            data = body.encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            if errortype:
                self.send_header("x-amzn-errortype", errortype)
            self.end_headers()
            self.wfile.write(data)

        def refuse(self, errortype, message):
            self.answer(403, json.dumps({"message": message}), errortype)

        def handle_any(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            url = f"http://{self.headers['host']}{self.path}"
            status, errortype, message = verify(args, self.command, url, self.headers.get_all, body)
            if status == 200:
                self.answer(200, json.dumps({"verified": True}))
            else:
                self.refuse(errortype, message)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
