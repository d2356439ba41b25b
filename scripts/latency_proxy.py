#!/usr/bin/env python3
"""An HTTP reverse proxy for the local AWS emulator that adds a fixed latency to every request
and counts requests per AWS operation.

    python scripts/latency_proxy.py --upstream http://127.0.0.1:5000 [--latency-ms 50] [--port 0]

It listens on 127.0.0.1 (``--port 0``, the default, picks a free port) and prints its URL on
stdout once it accepts connections. Every request is held for ``--latency-ms`` and then
forwarded to the upstream with its method, path, query, headers (``Host`` as the client sent
it) and body; the upstream's status, headers and body are sent back. The delay is per request,
not per connection, so a keep-alive client pays it on every call, as it pays the round trip to
a real AWS region. Requests are served concurrently (one thread per connection).

Two paths are answered by the proxy itself:

    GET  /__stats   {"total", "errors", "max_in_flight", "operations": {"service:Operation": n},
                     "errors_by_operation": {...}, "span_s", "critical_path",
                     "critical_path_ops": [...]}  (errors: HTTP status >= 400)
    GET  /__stats?requests=1   the same plus "requests": [[op, start_s, end_s, status], ...]
    POST /__reset   zeroes the counters and forgets the requests

Each request's interval runs from when its headers arrived to when its answer starts going
back (the upstream has answered and the latency has passed), in seconds since the first
request after a reset: a call the client makes on reading that answer cannot start before it,
however late this proxy's thread gets to note the time on a busy machine. ``span_s`` is the
first start to the last end.
The critical path is the longest chain of requests made one after another: each starts after
the previous one ended. It is the number of round trips a client could not have overlapped in
the order it made its calls, so ``critical_path x latency`` bounds its wall time from below;
``critical_path_ops`` names the calls of one such chain, in order.

The operation is ``X-Amz-Target`` for the JSON protocols (Cognito, Secrets Manager),
``Action=`` of the query or form body for the query protocols (IAM, SNS, STS), and for the REST
protocols (IoT, Lambda) the operation whose HTTP method and URI template match, taken from the
botocore service models when they are installed next to this interpreter (the emulator's venv
has them), else ``METHOD /path`` with the variable segments replaced by ``{}``. The service is
the signing name in the request's ``Authorization`` credential scope.

Faults (``--faults RATE --seed N``): each AWS request is, with probability RATE, given one fault
drawn from a generator seeded with N (the same seed draws the same sequence; which request gets
which draw still depends on the order concurrent requests arrive):

    latency    an extra delay of up to 2 s, then forwarded
    503        not forwarded; answered 503 ServiceUnavailable in the protocol's error shape
    throttle   not forwarded; answered in the protocol's throttling shape: JSON protocols 400
               ``{"__type": "ThrottlingException"}``, query protocols 400 XML
               ``<Code>Throttling</Code>``, REST protocols 429 with ``x-amzn-ErrorType:
               ThrottlingException``
    drop       forwarded (the server carries it out), then the connection is closed without an
               answer, as when an answer is lost on the way back

``--fault-kinds latency,503,throttle,drop`` limits the draw. ``--refuse
service:Operation[=Code],...`` answers every request of those operations, not forwarded, with a
client error of that code (default ``AccessDenied``) in the protocol's shape (JSON 400, query and
REST 403), which the SDK does not retry: an operation a caller's policy denies, or a service not
activated where the others answer. ``GET /__stats`` adds ``"faults":
{kind: n}`` and ``"faults_by_operation"``. Paths under ``/moto-api/`` (the emulator's own) are never
faulted.

Standard library only.
"""

import argparse
import bisect
import gzip
import http.client
import http.server
import importlib.util
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
}

# --- operation names ----------------------------------------------------------------------------


class RestRoutes:
    """Maps (service, method, path) to an operation name using botocore's REST service models."""

    SERVICES = ("iot", "lambda")

    def __init__(self):
        self.routes = {}  # service -> [(method, regex, n_literal_chars, name)]
        data = self._botocore_data()
        if data is None:
            return
        for service in self.SERVICES:
            model = self._load(os.path.join(data, service))
            if model is None:
                continue
            routes = []
            for name, op in model.get("operations", {}).items():
                http_ = op.get("http", {})
                method, uri = http_.get("method"), http_.get("requestUri")
                if not method or not uri:
                    continue
                path = uri.split("?", 1)[0]
                pattern, literal = self._compile(path)
                routes.append((method.upper(), pattern, literal, name))
            # The most literal template wins (/things/{thingName}/principals beats
            # /things/{thingName}; /policies/{name}/version beats /policies/{name}).
            routes.sort(key=lambda r: -r[2])
            self.routes[service] = routes

    @staticmethod
    def _botocore_data():
        try:
            spec = importlib.util.find_spec("botocore")  # locates it without importing it
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        for loc in spec.submodule_search_locations:
            data = os.path.join(loc, "data")
            if os.path.isdir(data):
                return data
        return None

    @staticmethod
    def _load(service_dir):
        try:
            versions = sorted(os.listdir(service_dir))
        except OSError:
            return None
        for version in reversed(versions):  # the newest API version
            for fname, opener in (("service-2.json", open), ("service-2.json.gz", gzip.open)):
                path = os.path.join(service_dir, version, fname)
                if os.path.exists(path):
                    try:
                        with opener(path, "rt", encoding="utf-8") as f:
                            return json.load(f)
                    except (OSError, ValueError):
                        return None
        return None

    @staticmethod
    def _compile(path):
        out, literal = [], 0
        for part in re.split(r"(\{[^}]+\})", path):
            if part.startswith("{") and part.endswith("}"):
                out.append(".+" if part.endswith("+}") else "[^/]+")
            else:
                out.append(re.escape(part))
                literal += len(part)
        return re.compile("^" + "".join(out) + "/?$"), literal

    def match(self, service, method, path):
        for m, pattern, _, name in self.routes.get(service, ()):
            if m == method and pattern.match(path):
                return name
        return None


ROUTES = None
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
VARIABLE_SEGMENT = re.compile(r"[0-9]|%|:|^.{25,}$")


def service_of(headers):
    m = CREDENTIAL_SCOPE.search(headers.get("Authorization", ""))
    return m.group(1) if m else "unsigned"


def operation_of(method, target, headers, body):
    """Returns "service:Operation" for one request."""
    service = service_of(headers)
    amz_target = headers.get("X-Amz-Target")
    if amz_target:
        return f"{service}:{amz_target.rsplit('.', 1)[-1]}"
    path, _, query = target.partition("?")
    action = urllib.parse.parse_qs(query).get("Action")
    if not action and body and "x-www-form-urlencoded" in headers.get("Content-Type", ""):
        try:
            action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
        except ValueError:
            action = None
    if action:
        return f"{service}:{action[0]}"
    name = ROUTES.match(service, method, path) if ROUTES else None
    if name:
        return f"{service}:{name}"
    # Unknown REST call: the method and the path with its variable-looking segments elided.
    segments = [
        "{}" if (i > 0 and VARIABLE_SEGMENT.search(s)) else s
        for i, s in enumerate(path.split("/"))
    ]
    return f"{service}:{method} {'/'.join(segments)}"


# --- counters -----------------------------------------------------------------------------------


def critical_path(intervals):
    """The longest chain of intervals ``(op, start, end)`` each starting after the previous one
    ended, as the list of their indexes in order. Longest path in the interval order: taken by
    end time, an interval extends the best chain among those that ended before it started (a
    binary search over the ends and a running best), O(n log n)."""
    order = sorted(range(len(intervals)), key=lambda i: intervals[i][2])
    ends = [intervals[i][2] for i in order]
    best = []  # best[k]: (length, index) of the longest chain ending at one of order[:k + 1]
    prev = {}
    for k, i in enumerate(order):
        before = bisect.bisect_left(ends, intervals[i][1], 0, k)  # ended strictly before i
        length, pred = best[before - 1] if before else (0, None)
        prev[i] = pred
        best.append(max(best[-1], (length + 1, i)) if best else (length + 1, i))
    chain, i = [], best[-1][1] if best else None
    while i is not None:
        chain.append(i)
        i = prev[i]
    return chain[::-1]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.ops = {}
            self.errors = {}
            self.total = 0
            self.in_flight = 0
            self.max_in_flight = 0
            self.t0 = None
            self.requests = []  # [op, start, end, status], times relative to t0

    def begin(self, op, started):
        """Counts a request whose headers arrived at ``started`` (time.monotonic())."""
        with self.lock:
            if self.t0 is None:
                self.t0 = started
            self.total += 1
            self.ops[op] = self.ops.get(op, 0) + 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            record = [op, started - self.t0, None, None]
            self.requests.append(record)
            return record

    def end(self, record, status):
        """The answer to ``record`` is about to be written (or, dropped, never will be): its
        interval ends now."""
        with self.lock:
            self.in_flight = max(0, self.in_flight - 1)
            if status >= 400:
                self.errors[record[0]] = self.errors.get(record[0], 0) + 1
            record[3] = status
            if self.t0 is not None:
                record[2] = time.monotonic() - self.t0

    def answered(self, record):
        """The handler is done with ``record``: an interval that did not end (the handler
        failed before answering) ends now."""
        with self.lock:
            if self.t0 is not None and record[2] is None:
                record[2] = time.monotonic() - self.t0

    def snapshot(self, with_requests=False):
        with self.lock:
            done = [r for r in self.requests if r[2] is not None]
            chain = critical_path([(r[0], r[1], r[2]) for r in done])
            out = {
                "total": self.total,
                "errors": sum(self.errors.values()),
                "max_in_flight": self.max_in_flight,
                "operations": dict(sorted(self.ops.items(), key=lambda kv: (-kv[1], kv[0]))),
                "errors_by_operation": dict(
                    sorted(self.errors.items(), key=lambda kv: (-kv[1], kv[0]))
                ),
                "span_s": round(max((r[2] for r in done), default=0.0)
                                - min((r[1] for r in done), default=0.0), 4),
                "critical_path": len(chain),
                "critical_path_ops": [done[i][0] for i in chain],
            }
            if with_requests:
                out["requests"] = [[r[0], round(r[1], 4), round(r[2], 4), r[3]] for r in done]
            return out


# --- the proxy ----------------------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    disable_nagle_algorithm = True
    server_version = "latency-proxy"
    sys_version = ""

    # set on the class by main()
    upstream_host = "127.0.0.1"
    upstream_port = 80
    latency = 0.0
    stats = None
    verbose = False
    refused = {}
    timeout = 300  # an idle keep-alive connection is closed after this many seconds

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("latency_proxy: %s\n" % (fmt % args))

    def _upstream(self):
        conn = getattr(self, "_conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=300)
            self._conn = conn
        return conn

    def _drop_upstream(self):
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
        self._conn = None

    def finish(self):
        self._drop_upstream()
        super().finish()

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("request body ended inside a chunk size line")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers, up to the blank line
                        trailer = self.rfile.readline(65537)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)  # CRLF after the chunk data
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _reply(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        started = time.monotonic()
        try:
            body = self._read_body()
        except (ValueError, ConnectionError) as e:
            self.close_connection = True
            self._reply(400, json.dumps({"proxy_error": str(e)}).encode())
            return
        path = self.path.split("?", 1)[0]
        if path == "/__stats" and self.command == "GET":
            query = urllib.parse.parse_qs(self.path.partition("?")[2])
            snap = self.stats.snapshot(with_requests=query.get("requests") == ["1"])
            snap.update(self.faults.snapshot())
            self._reply(200, json.dumps(snap, indent=1).encode() + b"\n")
            return
        if path == "/__reset" and self.command == "POST":
            self.stats.reset()
            self._reply(200, b'{"reset": true}\n')
            return

        op = operation_of(self.command, self.path, self.headers, body)
        if path.startswith("/moto-api/"):
            fault, error = None, None
        elif op in self.refused:
            fault, error = None, self.refused[op]
        else:
            fault = self.faults.draw(op)
            error = self.ERRORS.get(fault)
        record = self.stats.begin(op, started)
        try:
            if error:
                status, headers, payload = self._error_answer(error, body)
                self.stats.end(record, status)
                self.send_response_only(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            if fault == "latency":
                time.sleep(self.faults.extra_latency())
            self._proxy(record, body, drop=fault == "drop")
        finally:
            self.stats.answered(record)

    # The answer of each fault that is an error: (status, code) for the JSON protocols (the
    # code in ``__type``), the query protocols (XML ``<Code>``) and the REST ones
    # (``x-amzn-ErrorType``), and its message; ``--refuse`` makes its own (``refusal``).
    ERRORS = {
        "throttle": (
            (400, "ThrottlingException"),
            (400, "Throttling"),
            (429, "ThrottlingException"),
            "Rate exceeded",
        ),
        "503": (
            (503, "ServiceUnavailableException"),
            (503, "ServiceUnavailable"),
            (503, "ServiceUnavailableException"),
            "Service unavailable (injected)",
        ),
    }

    def _error_answer(self, error, body):
        """The answer to ``error`` (an entry of ``ERRORS``, or a ``refusal``), not forwarded, in
        the error shape of the request's protocol: (status, headers, payload)."""
        json_error, query_error, rest_error, message = error
        ctype = self.headers.get("Content-Type", "")
        if self.headers.get("X-Amz-Target"):
            status, code = json_error
            payload = json.dumps({"__type": code, "message": message}).encode()
            headers = [("Content-Type", ctype or "application/x-amz-json-1.1")]
        elif ctype.startswith("application/x-www-form-urlencoded") or b"Action=" in body[:200]:
            status, code = query_error
            payload = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{code}</Code><Message>{message}</Message></Error>"
                "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
            ).encode()
            headers = [("Content-Type", "text/xml")]
        else:
            status, code = rest_error
            payload = json.dumps({"message": message}).encode()
            headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
        return status, headers, payload

    def _proxy(self, record, body, drop=False):
        status = 502
        try:
            if self.latency > 0:
                time.sleep(self.latency)
            status, reason, headers, rbody = self._forward(body)
        except Exception as e:  # noqa: BLE001 - report any upstream failure as a 502
            self._drop_upstream()
            self.close_connection = True
            self._reply(502, json.dumps({"proxy_error": f"upstream: {e!r}"}).encode())
            return
        finally:
            self.stats.end(record, 0 if drop else status)
        if drop:
            # Carried out upstream; the answer never arrives.
            self.close_connection = True
            self.connection.shutdown(2)
            return

        # The upstream's own Server and Date headers go back, not the proxy's.
        self.log_request(status)
        self.send_response_only(status, reason)
        for k, v in headers:
            if k.lower() in HOP_BY_HOP or k.lower() == "content-length":
                continue
            self.send_header(k, v)
        if self.command == "HEAD" or status in (204, 304):
            # No body follows; a HEAD answer keeps the length the upstream announced.
            for k, v in headers:
                if self.command == "HEAD" and k.lower() == "content-length":
                    self.send_header(k, v)
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(rbody)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(rbody)

    def _forward(self, body):
        # One retry on a fresh connection if the kept-alive one went stale.
        for attempt in (0, 1):
            conn = self._upstream()
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                if "Host" not in self.headers:
                    conn.putheader("Host", f"{self.upstream_host}:{self.upstream_port}")
                for k, v in self.headers.items():
                    if k.lower() in HOP_BY_HOP or k.lower() == "content-length":
                        continue
                    conn.putheader(k, v)
                if body or self.command in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                rbody = resp.read()
                if resp.will_close:
                    self._drop_upstream()
                return resp.status, resp.reason, resp.getheaders(), rbody
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop_upstream()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class Faults:
    """Which requests get a fault, drawn from one seeded generator."""

    KINDS = ("latency", "503", "throttle", "drop")

    def __init__(self, rate=0.0, seed=0, kinds=KINDS):
        self.rate = rate
        self.kinds = tuple(kinds)
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {}
        self.by_op = {}

    def draw(self, op):
        if self.rate <= 0 or not self.kinds:
            return None
        with self.lock:
            if self.rng.random() >= self.rate:
                return None
            kind = self.rng.choice(self.kinds)
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.by_op.setdefault(op, {}).setdefault(kind, 0)
            self.by_op[op][kind] += 1
            return kind

    def extra_latency(self):
        with self.lock:
            return self.rng.uniform(0.0, 2.0)

    def snapshot(self):
        with self.lock:
            return {"faults": dict(self.counts), "faults_by_operation": json.loads(json.dumps(self.by_op))}


def refusal(code):
    """The client error ``--refuse`` answers, as ``Handler.ERRORS`` holds them: JSON 400, query
    and REST 403, each with ``code``."""
    return (400, code), (403, code), (403, code), f"{code} (refused by the proxy)"


def refusals(spec):
    """``service:Operation[=Code],...`` as {operation: its refusal}; the code defaults to
    ``AccessDenied``."""
    out = {}
    for item in spec.split(","):
        op, _, code = item.strip().partition("=")
        if op:
            out[op] = refusal(code or "AccessDenied")
    return out


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="emulator URL, e.g. http://127.0.0.1:5000")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="delay added to each request")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    ap.add_argument(
        "--exit-with-pid",
        type=int,
        default=0,
        help="exit when this process is gone (so the proxy never outlives its caller)",
    )
    ap.add_argument("--verbose", action="store_true", help="log every request on stderr")
    ap.add_argument("--faults", type=float, default=0.0, help="share of requests given a fault")
    ap.add_argument("--seed", type=int, default=0, help="seed of the fault draw")
    ap.add_argument(
        "--fault-kinds",
        default=",".join(Faults.KINDS),
        help="comma list of latency, 503, throttle, drop",
    )
    ap.add_argument(
        "--refuse",
        default="",
        help="comma list of service:Operation[=Code] always answered with that client error",
    )
    args = ap.parse_args()
    kinds = [k for k in args.fault_kinds.split(",") if k]
    if any(k not in Faults.KINDS for k in kinds) or not 0 <= args.faults <= 1:
        ap.error("--faults is 0..1 and --fault-kinds names latency, 503, throttle, drop")

    up = urllib.parse.urlsplit(args.upstream)
    if up.scheme != "http" or not up.hostname:
        ap.error("--upstream must be an http:// URL")
    if args.latency_ms < 0:
        ap.error("--latency-ms must be >= 0")

    global ROUTES
    ROUTES = RestRoutes()

    Handler.upstream_host = up.hostname
    Handler.upstream_port = up.port or 80
    Handler.latency = args.latency_ms / 1000.0
    Handler.stats = Stats()
    Handler.verbose = args.verbose
    Handler.faults = Faults(args.faults, args.seed, kinds)
    Handler.refused = refusals(args.refuse)

    try:
        server = Server(("127.0.0.1", args.port), Handler)
    except OSError as e:
        print(f"latency_proxy: cannot listen on 127.0.0.1:{args.port}: {e}", file=sys.stderr)
        return 1
    if args.exit_with_pid:
        def watch():
            while True:
                try:
                    os.kill(args.exit_with_pid, 0)
                except ProcessLookupError:
                    os._exit(0)
                except PermissionError:
                    pass
                time.sleep(1)

        threading.Thread(target=watch, daemon=True).start()

    if not ROUTES.routes:
        print(
            "latency_proxy: botocore models not found; REST calls are named by method and path",
            file=sys.stderr,
        )
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
