"""What the seed apps share: a threaded HTTP server on the seed's port, and the task's network
as seen from this machine.

Inside a Fargate task an app listens on its seed's port (3000, 8448, ...) and reaches peers by
name (`products.shop.local:3000`, `locust-master.locust:5557`). Locally several apps run side by
side on loopback, so the probe (tests/example-probe.py) passes two maps in the environment:
  SEEDAPP_LISTEN   "3000=41234,5557=41235"      the app's own port -> the loopback port it binds
  SEEDAPP_RESOLVE  "products.shop.local:3000=127.0.0.1:41236,..."   a peer's name -> where it runs
Without them an app binds its seed's port and resolves names through DNS, as in the task.
"""
import http.server
import json
import os
import socketserver
import sys
import time
import urllib.request

STARTED = time.monotonic()


def _pairs(name):
    out = {}
    for item in filter(None, os.environ.get(name, "").split(",")):
        k, _, v = item.partition("=")
        out[k.strip()] = v.strip()
    return out


def listen_port(seed_port):
    return int(_pairs("SEEDAPP_LISTEN").get(str(seed_port), seed_port))


def resolve(host, port):
    """The address a peer's `host:port` reaches locally (itself when not mapped)."""
    got = _pairs("SEEDAPP_RESOLVE").get(f"{host}:{port}")
    if got is None:
        return host, port
    h, _, p = got.rpartition(":")
    return h, int(p)


def resolve_url(url):
    """`http://products.shop.local:3000/products` -> the mapped loopback URL."""
    scheme, _, rest = url.partition("://")
    hostport, slash, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    h, p = resolve(host, int(port or 80))
    return f"{scheme}://{h}:{p}{slash}{path}"


class Handler(http.server.BaseHTTPRequestHandler):
    """Routes GET requests through `self.server.routes`: path -> fn() -> (status, type, body)."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        route = self.server.routes.get(self.path.split("?")[0])
        if route is None:
            status, ctype, body = 404, "text/plain", "404 page not found\n"
        else:
            try:
                status, ctype, body = route()
            except Exception as e:  # a failing route answers 500, as the seeds' frameworks do
                status, ctype, body = 500, "text/plain", f"{type(e).__name__}: {e}\n"
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def relay(url):
    """A route that GETs a peer's URL (by its name in the task) and answers with its body, as the
    seed 002 services' /service-* routes do; a failed call answers 500 through Handler."""
    def route():
        with urllib.request.urlopen(resolve_url(url), timeout=10) as r:
            return 200, "text/plain; charset=utf-8", r.read()
    return route


def serve(seed_port, routes, host="127.0.0.1"):
    port = listen_port(seed_port)
    srv = Server((host, port), Handler)
    srv.routes = routes
    print(f"listening on {host}:{port} (the task's port {seed_port})", file=sys.stderr, flush=True)
    srv.serve_forever()


def text(body, status=200):
    return status, "text/plain; charset=utf-8", body


def as_json(value, status=200):
    return status, "application/json", json.dumps(value) + "\n"


def require_env(*names):
    """Exits like a container whose entrypoint finds its settings missing."""
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        sys.exit(f"missing environment: {', '.join(missing)}")
