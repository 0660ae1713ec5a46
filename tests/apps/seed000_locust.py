#!/usr/bin/env python3
"""A stand-in for the `locust` program of seed 000's image, run by the example's own command.

It takes the flags the example's command builds from the seed's settings (the seed's
locust-master.json and locust-slave.json):
  master: LOCUST_MODE=master, LOCUST_MASTER_BIND_PORT=5557, ATTACKED_HOST   -> --master
          --master-bind-port 5557 --host $ATTACKED_HOST; serves the web UI (GET / -> 200) on
          the web port (8089, or LOCUST_WEB_PORT as locust reads it) and accepts workers on the
          bind port
  worker: LOCUST_MODE=slave (or worker), LOCUST_MASTER=locust-master.locust  -> --worker
          --master-host locust-master.locust; connects to the master's bind port and exits 0
          once the master answered (a real worker would then run the locustfile)
It compiles the locustfile given with -f (the stock image ships none) and refuses flags or
settings that disagree with the seed's (a wrong mode, a bind port other than the seed's, a
master host that is not the seed's Cloud Map name).
"""
import argparse
import os
import py_compile
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seednet  # noqa: E402

SEED_BIND_PORT = 5557
SEED_MASTER = "locust-master.locust"

p = argparse.ArgumentParser(prog="locust")
p.add_argument("-f", dest="locustfile", required=True)
p.add_argument("--master", action="store_true")
p.add_argument("--worker", "--slave", dest="worker", action="store_true")
p.add_argument("--master-bind-port", type=int, default=5557)
p.add_argument("--master-host")
p.add_argument("--master-port", type=int, default=5557)
p.add_argument("--host", dest="target")
p.add_argument("--web-port", type=int, default=int(os.environ.get("LOCUST_WEB_PORT", "8089")))
a = p.parse_args()

py_compile.compile(a.locustfile, doraise=True)
mode = os.environ.get("LOCUST_MODE", "")
if a.master == a.worker:
    sys.exit("give exactly one of --master or --worker")
if not a.target or not a.target.startswith(("http://", "https://")):
    sys.exit(f"--host must be the URL under test (ATTACKED_HOST), got {a.target!r}")

if a.master:
    if mode != "master":
        sys.exit(f"--master with LOCUST_MODE={mode!r} (the seed's master sets master)")
    if a.master_bind_port != SEED_BIND_PORT or os.environ.get("LOCUST_MASTER_BIND_PORT") != str(SEED_BIND_PORT):
        sys.exit(f"master bind port {a.master_bind_port} / LOCUST_MASTER_BIND_PORT="
                 f"{os.environ.get('LOCUST_MASTER_BIND_PORT')!r}: the seed binds {SEED_BIND_PORT}")
    bind = socket.socket()
    bind.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    bind.bind(("127.0.0.1", seednet.listen_port(a.master_bind_port)))
    bind.listen()

    def accept():
        while True:
            conn, _ = bind.accept()
            with conn:
                if conn.recv(64).startswith(b"worker"):
                    conn.sendall(b"master ok\n")

    threading.Thread(target=accept, daemon=True).start()
    seednet.serve(a.web_port, {"/": lambda: seednet.text("<html>Locust</html>")})
else:
    if mode not in ("slave", "worker"):
        sys.exit(f"--worker with LOCUST_MODE={mode!r} (the seed's workers set slave)")
    if a.master_host != SEED_MASTER or os.environ.get("LOCUST_MASTER") != SEED_MASTER:
        sys.exit(f"master host {a.master_host!r} / LOCUST_MASTER={os.environ.get('LOCUST_MASTER')!r}: "
                 f"the seed's workers find the master as {SEED_MASTER}")
    host, port = seednet.resolve(a.master_host, a.master_port)
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"worker\n")
        if not s.recv(64).startswith(b"master ok"):
            sys.exit("the master did not answer")
    print(f"connected to the master at {a.master_host}:{a.master_port}", file=sys.stderr)
