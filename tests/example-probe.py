#!/usr/bin/env python3
"""Probes every example against its seed's application, locally (no Docker, no AWS).

For each example it expands the template (`fargate-app expand`), starts the test application
of each App's seed (tests/apps/) on free loopback ports with the environment the expansion gives
the container, and checks what AWS would check once deployed:
- the target group's health check: an HTTP GET of HealthCheckPath on the traffic port, healthy
  when the status is in Matcher.HttpCode; defaults path "/", matcher "200", timeout 6 s for an
  HTTP target group; an answer slower than HealthCheckTimeoutSeconds is a failed check
  (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html,
  https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html);
- the service's grace period: ECS ignores failing load-balancer checks for
  HealthCheckGracePeriodSeconds after a task starts (default 0), so the app must answer its
  health check within it
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html);
- the load-test gate (`LoadTest`): its route answers with the expected status within the
  thresholds, run with `fargate-app loadtest` for a few seconds at a bounded rate; and its rate
  fits the App at its size: rate x (CPU-seconds per request, measured on the app) must stay
  below the vCPUs of the tasks running when the gate starts (Cpu/1024 per task, AWS's task CPU
  units), and one request alone, on one task's share of a core, within the p99 threshold;
- the scaling check (`ScalingCheck`): its load makes target tracking act and reach ExpectDesired:
  rate x (CPU-seconds per request, measured on the app) over the vCPUs of Scaling.Min tasks,
  capped at 100% (a Fargate task's CPU is its reservation), must be above Scaling.CpuPercent
  (else the high alarm never fires), and the count target tracking sets,
  ceil(Min x utilization / target) (https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html),
  within Max, must be at least ExpectDesired;
- the routes between Apps (seed 002's /service-products and /service-users) through the names
  the expansion's environment gives them, resolved to where the peer runs here.
An App with no test application fails the run unless its example is listed in NOT_PROBED with a
reason. Then NEGATIVE_CONTROLS re-run the probe on broken variants of the examples and require
each to fail with the expected message: the probe can fail.
"""
import glob
import http.server
import json
import os
import re
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APPS = os.path.join(ROOT, "tests", "apps")

# Defaults of AWS::ElasticLoadBalancingV2::TargetGroup and AWS::ECS::Service (pages above).
DEFAULT_HEALTH_PATH, DEFAULT_MATCHER, DEFAULT_HTTP_TIMEOUT, DEFAULT_GRACE = "/", "200", 6, 0
DEFAULT_INTERVAL, DEFAULT_UNHEALTHY_THRESHOLD = 30, 2
LOCAL_START_WAIT = 30
# The gate's local run: a few seconds at a rate bounded for a shared 2-core machine.
GATE_SECONDS, GATE_MAX_RATE, GATE_MAX_CONCURRENCY = 3, 20, 4

# Each example's Apps -> the test application of its seed. `app`: a script in tests/apps run
# in place of the image; `command`: the container's own EntryPoint+Command, run with `stubs`
# (program name -> script in tests/apps) first on PATH in place of the image's programs.
# `routes`: more GETs that must answer (path, status, text in the body).
SEED002 = {
    "Users": {"app": "seed002_users.py", "routes": [
        ("/", 200, "service users version"), ("/users", 200, "John Doe"),
        ("/service-products", 200, "Laptop"), ("/stress-test", 200, "Stress test completed")]},
    "Products": {"app": "seed002_products.py", "routes": [
        ("/", 200, "service products API version"), ("/products", 200, "Keyboard"),
        ("/service-users", 200, "Jane Doe")]},
}
LOCUST = {"command": True, "stubs": {"locust": "seed000_locust.py"}}
RUNS = {
    "000-locust": {"LocustMaster": LOCUST, "LocustWorker": LOCUST},
    "001-app-behind-alb": {"Web": {"app": "seed001_app.py", "routes": [("/", 200, "")]}},
    "002-users-products": SEED002,
    "002-users-products-bluegreen": SEED002,
    "003-lambda-fargate-standby": {"Api": {"app": "seed003_app.py", "routes": [
        ("/pong", 200, "ping"), ("/bang", 200, "boom"), ("/env", 200, "server")],
        # The standby function runs the same image: ALB events through the Lambda runtime API.
        "function": {"events": [("/env", 200, "lambda"), ("/pong", 200, "ping")]}}},
    # The stack runs a revision the workflow registers from ci/task-definition.json (seed 004:
    # "based on a currently deployed task definition"), filled as the workflow fills it.
    "004-branch-environment": {"BranchApp": {"app": "seed004_app.py", "routes": [("/", 200, "branch ")],
        "task_definition": ("examples/004-branch-environment/ci/task-definition.json",
                            {"IMAGE": "app:latest", "BRANCH_NAME": "feature/test123"})}},
    # Not a seed: the stock nginx image, whose /etc/nginx/conf.d/default.conf serves
    # /usr/share/nginx/html (index.html, 50x.html) and answers 404 elsewhere; checked against
    # that, not run.
    "shared-listener-routing": {a: {"nginx": ["/", "/index.html", "/50x.html"]} for a in ("Api", "Web", "Admin")},
    # The README's quick start (and its VPC-making twin): the stock nginx image on port 80.
    "quickstart": {"Web": {"nginx": ["/", "/index.html", "/50x.html"]}},
    "quickstart-with-vpc": {"Web": {"nginx": ["/", "/index.html", "/50x.html"]}},
}
NOT_PROBED = {"cdk": "its template is synthesized by `make cdk-example` (npm), not a file here"}
# Values for parameters without a Default (what a deployment would be given).
PARAMS = {"000-locust": {"TargetHost": "http://target.invalid"},
          "003-lambda-fargate-standby": {"ApiImage": "api:latest"},
          "004-branch-environment": {"Branch": "feature/test123",
                                     "TaskDefinition": "arn:aws:ecs:us-west-2:111122223333:task-definition/my-project-feature-test123:1",
                                     "NotifyTopicArn": "arn:aws:sns:us-west-2:111122223333:branch-environments"}}

# Broken variants of the examples: (example, text, replacement, what the probe must report).
NEGATIVE_CONTROLS = [
    ("002-users-products", "HealthCheck: { Path: / }", "HealthCheck: { Path: /health }",
     "GET /health answered 404"),
    ("002-users-products", "LoadTest: { Path: /users,", "LoadTest: { Path: /stress-test,",
     "vCPU"),
    ("002-users-products", "ScalingCheck: { Path: /stress-test,", "ScalingCheck: { Path: /users,",
     "the load does not lift the CPU above the target"),
    ("002-users-products-bluegreen", "ExpectDesired: 2, Run: OnCreate", "ExpectDesired: 3, Run: OnCreate",
     "the load does not reach ExpectDesired"),
    ("003-lambda-fargate-standby", "HealthCheck: { Path: /pong,", "HealthCheck: { Path: /,",
     "no answer within the 6 s health-check timeout"),
    ("001-app-behind-alb", "Port: 8448", "Port: 8080", "never answered"),
    ("002-users-products", "DnsName: products,", "DnsName: product,",
     "calls http://products:3000 (SERVICE_PRODUCTS), which no Service Connect alias"),
    ("002-users-products", "NamespaceName: ecs-tutorial", "NamespaceName: users-only",
     "which no Service Connect alias in its namespace names (aliases: users:3000)"),
    ("002-users-products-bluegreen", "ClientAliases: [{ DnsName: users, Port: 3000 }]",
     "ClientAliases: [{ DnsName: users, Port: 8080 }]", "GET /service-users answered 500"),
    ("000-locust", "LOCUST_MASTER: !GetAtt LocustMaster.DiscoveryName", "LOCUST_MASTER: locust-master",
     "the seed's workers find the master as locust-master.locust"),
    ("003-lambda-fargate-standby", "Code: { ImageUri: !Ref ApiImage }", "Code: { ImageUri: other:latest }",
     "not the App's image"),
]
# ci/stack-name.sh of example 004 over branch names: (project, branch, exact name or None).
STACK_NAMES = [
    ("my-project", "feature/test123", "my-project-feature-test123"),
    ("my-project", "Feature/UPPER_case.v2", "my-project-feature-upper-case-v2"),
    ("9lives", "--hot--fix--", "env-9lives-hot-fix"),
    ("my-project", "feature/" + "x" * 300, None),
    ("my-project", "feature/" + "x" * 299 + "y", None),
]


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags read as their long form."""


def _tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else "Fn::" + suffix
    if isinstance(node, yaml.ScalarNode):
        v = loader.construct_scalar(node)
        if suffix == "GetAtt":
            v = v.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        v = loader.construct_sequence(node, deep=True)
    else:
        v = loader.construct_mapping(node, deep=True)
    return {name: v}


CfnLoader.add_multi_constructor("!", _tag)


def expand(path):
    out = subprocess.run(["cargo", "run", "-q", "--bin", "fargate-app", "--", "expand", path],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"expand failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def matches(status, matcher):
    for part in str(matcher).split(","):
        lo, _, hi = part.partition("-")
        if int(lo) <= status <= int(hi or lo):
            return True
    return False


class Resolver:
    """Values of the expansion as a deployment would see them, for the literals a local run
    needs: parameters (Default or PARAMS), `${App.DiscoveryName}`, Fn::Sub and Fn::Join."""

    def __init__(self, template, params, discovery):
        self.params = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
        self.params.update(params)
        self.discovery = discovery  # App logical ID -> its Cloud Map name

    def attr(self, name, attr):
        if attr == "DiscoveryName" and name in self.discovery:
            return self.discovery[name]
        raise KeyError(f"{name}.{attr}")

    def __call__(self, v):
        if isinstance(v, (str, int, float)):
            return str(v)
        if isinstance(v, dict) and len(v) == 1:
            (k, arg), = v.items()
            if k == "Ref":
                if self.params.get(arg) is None:
                    raise KeyError(f"parameter {arg} has no Default: add it to PARAMS")
                return str(self.params[arg])
            if k == "Fn::GetAtt":
                return self.attr(*arg)
            if k == "Fn::Sub":
                text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

                def sub(m):
                    name = m.group(1)
                    if name in local:
                        return self(local[name])
                    if "." in name:
                        return self.attr(*name.split(".", 1))
                    return self({"Ref": name})
                return re.sub(r"\$\{([^}!]+)\}", sub, text)
            if k == "Fn::Join":
                return arg[0].join(self(x) for x in arg[1])
        raise KeyError(f"cannot resolve {json.dumps(v)[:120]} locally")


def discovery_names(source):
    """App -> `name.namespace` from the source's Discovery (what DiscoveryName resolves to)."""
    out = {}
    for lid, r in source.get("Resources", {}).items():
        d = (r.get("Properties") or {}).get("Discovery") if r.get("Type") == "Fargate::App" else None
        if d and isinstance(d.get("Name"), str) and isinstance(d.get("NamespaceName"), str):
            out[lid] = f"{d['Name']}.{d['NamespaceName']}"
    return out


def cpu_seconds(pid):
    """User + system CPU time of a process (proc(5): fields 14 and 15, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(url, timeout):
    """(status, body, seconds); status None when no answer came within `timeout`."""
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace"), time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace"), time.monotonic() - t0
    except OSError:
        return None, "", time.monotonic() - t0


def given_task_definition(given):
    """A RegisterTaskDefinition input (the API's camelCase JSON, placeholders filled) in the
    template's shape, for the fields the probe reads."""
    if given is None:
        raise KeyError("the service runs a task definition outside the template: add "
                       "task_definition (a register-task-definition JSON) to its RUNS entry")
    path, fill = given
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    for k, v in fill.items():
        text = text.replace(f'"{k}"', json.dumps(v))
    api = json.loads(text)
    return {"ContainerDefinitions": [{
        "Name": c["name"], "Image": c["image"],
        "PortMappings": [{"ContainerPort": m["containerPort"]} for m in c.get("portMappings", [])],
        "Environment": [{"Name": e["name"], "Value": e["value"]} for e in c.get("environment", [])],
        "Command": c.get("command", []), "EntryPoint": c.get("entryPoint", []),
    } for c in api["containerDefinitions"]]}


class App:
    """One App of an example: what the expansion says about it and its local process."""

    def __init__(self, lid, svc, res, source_props, given_td=None):
        self.lid, self.props = lid, source_props
        ref = svc["Properties"]["TaskDefinition"]
        ref = ref.get("Ref") if isinstance(ref, dict) else None
        # A revision from outside the stack (TaskDefinition): the register-task-definition JSON
        # it is made from.
        td = res[ref]["Properties"] if ref in res else given_task_definition(given_td)
        lbs = svc["Properties"].get("LoadBalancers") or []
        self.lb = lbs[0] if lbs else None
        name = self.lb["ContainerName"] if self.lb else None
        self.container = next(c for c in td["ContainerDefinitions"] if name in (None, c["Name"]))
        self.ports = [m["ContainerPort"] for m in self.container.get("PortMappings", [])]
        self.grace = svc["Properties"].get("HealthCheckGracePeriodSeconds", DEFAULT_GRACE)
        self.tg = res[self.lb["TargetGroupArn"]["Ref"]]["Properties"] if self.lb else None
        self.local = {p: free_port() for p in self.ports}
        self.proc, self.work, self.started, self.dns = None, None, None, None
        # ECS Service Connect: the namespace, and each client alias (DnsName, Port) with the
        # container port its PortName names; clients call the alias, the server's proxy
        # forwards to the container port
        # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectService.html).
        scc = svc["Properties"].get("ServiceConnectConfiguration") or {}
        self.sc_ns = json.dumps(scc.get("Namespace"), sort_keys=True) if scc.get("Enabled") else None
        self.sc_aliases = []
        for s in scc.get("Services") or []:
            cport = next((m["ContainerPort"] for m in self.container.get("PortMappings", [])
                          if m.get("Name") == s.get("PortName")), None)
            for a in s.get("ClientAliases") or []:
                self.sc_aliases.append((a.get("DnsName"), a.get("Port"), cport))

    def health(self):
        tg = self.tg
        return (tg.get("HealthCheckPath", DEFAULT_HEALTH_PATH),
                str((tg.get("Matcher") or {}).get("HttpCode", DEFAULT_MATCHER)),
                int(tg.get("HealthCheckTimeoutSeconds", DEFAULT_HTTP_TIMEOUT)))

    def url(self, path):
        return f"http://127.0.0.1:{self.local[self.lb['ContainerPort']]}{path}"

    def start(self, run, resolve, peers):
        env = {e["Name"]: resolve(e["Value"]) for e in self.container.get("Environment", [])}
        env["SEEDAPP_LISTEN"] = ",".join(f"{p}={q}" for p, q in self.local.items())
        names = [f"{a.dns}:{p}=127.0.0.1:{q}" for a in peers if a.dns for p, q in a.local.items()]
        names += [f"{dns}:{port}=127.0.0.1:{a.local[cport]}" for a in self.sc_peers(peers)
                  for dns, port, cport in a.sc_aliases if dns and cport in a.local]
        env["SEEDAPP_RESOLVE"] = ",".join(names)
        self.work = tempfile.mkdtemp(prefix="example-probe-")
        path = os.environ["PATH"]
        if run.get("command"):
            argv = [resolve(a) for a in self.container.get("EntryPoint", []) + self.container.get("Command", [])]
            stubs = os.path.join(self.work, ".bin")
            os.mkdir(stubs)
            for prog, script in run["stubs"].items():
                with open(os.path.join(stubs, prog), "w") as f:
                    f.write(f'#!/bin/sh\nexec "{sys.executable}" "{os.path.join(APPS, script)}" "$@"\n')
                os.chmod(os.path.join(stubs, prog), 0o755)
            path = stubs + os.pathsep + path
        else:
            argv = [sys.executable, os.path.join(APPS, run["app"])]
        # Only the container's environment and the maps: nothing of this machine's leaks in.
        env = dict(env, PATH=path, HOME=self.work, LANG="C.UTF-8")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=self.work, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)

    def sc_peers(self, peers):
        """The Apps whose Service Connect aliases this App's proxy resolves: those of its
        namespace (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect-concepts-deploy.html)."""
        return [a for a in peers if self.sc_ns and a.sc_ns == self.sc_ns]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)


def exit_reason(app):
    err = app.proc.stderr.read().strip() if app.proc.stderr else ""
    return f"exited {app.proc.returncode}: {err.splitlines()[-1] if err else '(no output)'}"


def check_health(app, out):
    """Start time within the grace period, the health check's status and timeout.
    Target group: GET HealthCheckPath on the traffic port; healthy when the code is in
    Matcher.HttpCode; no answer within HealthCheckTimeoutSeconds is a failed check
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
    ECS: failing checks are ignored for HealthCheckGracePeriodSeconds after the task starts
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html)."""
    path, matcher, timeout = app.health()
    tg = app.tg
    # After the grace period a target that fails UnhealthyThresholdCount checks in a row, one
    # every HealthCheckIntervalSeconds, is unhealthy and ECS replaces its task: the app must
    # answer before grace + threshold x interval. Locally the app starts without an image pull,
    # so a local start already over that fails on Fargate too. This probe waits at most
    # LOCAL_START_WAIT of it (the seeds' apps start in well under a second).
    allowed = app.grace + int(tg.get("UnhealthyThresholdCount", DEFAULT_UNHEALTHY_THRESHOLD)) * int(
        tg.get("HealthCheckIntervalSeconds", DEFAULT_INTERVAL))
    deadline = app.started + min(allowed, LOCAL_START_WAIT)
    while True:
        status, _, took = get(app.url(path), timeout)
        if status is not None:
            break
        if app.proc.poll() is not None:
            return out.fail(f"{app.lid}: never answered on its port {app.lb['ContainerPort']}: {exit_reason(app)}")
        if took >= timeout:
            return out.fail(f"{app.lid}: GET {path}: no answer within the {timeout} s health-check timeout")
        if time.monotonic() > deadline:
            return out.fail(f"{app.lid}: never answered on its port {app.lb['ContainerPort']} within "
                            f"{deadline - app.started:.0f} s (AWS would wait {allowed} s)")
        time.sleep(0.1)
    start_s = time.monotonic() - app.started
    if not matches(status, matcher):
        return out.fail(f"{app.lid}: GET {path} answered {status}, the health check wants {matcher}")
    # A few more checks, as the target group keeps sending them: each within the timeout.
    worst = took
    for _ in range(3):
        status, _, took = get(app.url(path), timeout)
        worst = max(worst, took)
        if status is None or not matches(status, matcher):
            return out.fail(f"{app.lid}: GET {path}: {status or 'no answer'} within the {timeout} s timeout")
    out.ok(f"{app.lid}: GET {path} -> {status} (matcher {matcher}), slowest {worst * 1000:.0f} ms "
           f"< timeout {timeout} s")
    if start_s > allowed:
        return out.fail(f"{app.lid}: first healthy answer after {start_s:.1f} s, later than the "
                        f"{app.grace} s grace period and the failed checks after it ({allowed} s)")
    out.ok(f"{app.lid}: healthy {start_s:.1f} s after start; allowed {allowed} s (grace period "
           f"{app.grace} s + unhealthy threshold x interval)")
    return True


def seed_calls(script):
    """The peer URLs a seed app calls by default (its DOTENV, from the seed's .env)."""
    with open(os.path.join(APPS, script)) as f:
        m = re.search(r"^DOTENV = \{(.*?)\}", f.read(), re.M | re.S)
    return re.findall(r'"(\w+)": "(https?://[^"/]+)"', m.group(1)) if m else []


def check_seed_calls(app, run, peers, out):
    """Each peer URL the seed app calls by default (the task's environment leaves it unset)
    is a Service Connect alias (DnsName:Port) of an App in the caller's namespace."""
    if "app" not in run:
        return
    env = {e["Name"] for e in app.container.get("Environment", [])}
    for var, url in seed_calls(run["app"]):
        if var in env:
            continue
        hostport = url.split("://", 1)[1]
        host, _, port = hostport.partition(":")
        port = int(port or 80)
        owners = [a.lid for a in app.sc_peers(peers) if any(
            d == host and p == port for d, p, _ in a.sc_aliases)]
        if owners:
            out.ok(f"{app.lid}: the seed app calls {url} ({var}): the Service Connect alias of {owners[0]}")
        else:
            known = sorted(f"{d}:{p}" for a in app.sc_peers(peers) for d, p, _ in a.sc_aliases)
            out.fail(f"{app.lid}: the seed app calls {url} ({var}), which no Service Connect alias "
                     f"in its namespace names (aliases: {', '.join(known) or 'none'})")


def check_routes(app, run, out):
    for path, want, text in run.get("routes", []):
        status, body, took = get(app.url(path), 30)
        if status != want or text not in body:
            out.fail(f"{app.lid}: GET {path} answered {status} {body.strip()[:120]!r}, want {want} with {text!r}")
        else:
            out.ok(f"{app.lid}: GET {path} -> {status} in {took * 1000:.0f} ms")


class FakeRuntime(http.server.BaseHTTPRequestHandler):
    """The Lambda runtime API's two calls, serving `self.server.events` in turn
    (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)."""

    def do_GET(self):
        if not self.server.events:
            time.sleep(30)  # no more invocations: the runtime waits, as Lambda's does
            return
        rid, event = self.server.events.pop(0)
        body = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        rid = self.path.split("/")[-2]
        self.server.answers[rid] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def check_function(app, run, res, out):
    """The standby function runs the App's own image, answering ALB events (the ALB's Lambda
    event and response fields:
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html)."""
    spec = run.get("function")
    if not spec:
        return
    fns = [(k, r) for k, r in res.items() if r["Type"] == "AWS::Lambda::Function"
           and r["Properties"].get("PackageType") == "Image"
           and r["Properties"].get("Code", {}).get("ImageUri") == app.container["Image"]]
    if not fns:
        return out.fail(f"{app.lid}: the standby function's image is not the App's image "
                        f"({json.dumps(app.container['Image'])}): not one codebase")
    fid = fns[0][0]
    timeout = int(fns[0][1]["Properties"].get("Timeout", 3))
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FakeRuntime)
    srv.daemon_threads = True
    srv.events = [(f"req-{i}", {"requestContext": {"elb": {"targetGroupArn": "arn:probe"}},
                                "httpMethod": "GET", "path": path, "queryStringParameters": {},
                                "headers": {}, "body": "", "isBase64Encoded": False})
                  for i, (path, _, _) in enumerate(spec["events"])]
    srv.answers = {}
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = {"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{srv.server_address[1]}", "PATH": os.environ["PATH"]}
    proc = subprocess.Popen([sys.executable, os.path.join(APPS, run["app"])], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + min(timeout, 10) + 5
        while len(srv.answers) < len(spec["events"]) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        for i, (path, want, text) in enumerate(spec["events"]):
            a = srv.answers.get(f"req-{i}")
            if not a or a.get("statusCode") != want or text not in a.get("body", "") or "statusDescription" not in a:
                out.fail(f"{fid}: ALB event GET {path} answered {a}, want {want} with {text!r}")
            else:
                out.ok(f"{fid} (image {json.dumps(app.container['Image'])}): ALB event GET {path} -> {want} {a['body'].strip()}")
    finally:
        proc.kill()
        proc.wait()
        srv.shutdown()
        srv.server_close()


def check_stack_names(out):
    """Example 004's stack names: CloudFormation's rule (letters, digits, hyphens; a letter
    first; at most 128: API_CreateStack) for every branch, and distinct for distinct branches."""
    script = os.path.join(ROOT, "examples", "004-branch-environment", "ci", "stack-name.sh")
    seen = {}
    for project, branch, want in STACK_NAMES:
        r = subprocess.run(["sh", script, project, branch], capture_output=True, text=True)
        name = r.stdout.strip()
        bad = [why for why, failed in (
            (f"exit {r.returncode}", r.returncode != 0),
            ("not [A-Za-z][A-Za-z0-9-]*", not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", name)),
            (f"{len(name)} > 128 characters", len(name) > 128),
            (f"want {want}", want is not None and name != want),
            (f"the same as for {seen.get(name)!r}", name in seen)) if failed]
        seen[name] = branch
        if bad:
            out.fail(f"stack name for {branch[:40]!r}: {name!r}: {'; '.join(bad)}")
        else:
            out.ok(f"stack name for {branch[:40]!r}{'...' if len(branch) > 40 else ''}: {name[:60]}{'...' if len(name) > 60 else ''} ({len(name)} chars)")


def deploy_count(props):
    scaling = props.get("Scaling") or {}
    for v in (scaling.get("Min"), props.get("DesiredCount")):
        if isinstance(v, int):
            return v
    return 1


def cost_per_request(app, path):
    """CPU per request, measured on the app: the mean of sequential requests (at least 3, more
    for a cheap route, up to 1 s, so that the clock ticks of /proc resolve it)."""
    before, t0, n = cpu_seconds(app.proc.pid), time.monotonic(), 0
    while n < 3 or (n < 200 and time.monotonic() - t0 < 1):
        get(app.url(path), 30)
        n += 1
    return (cpu_seconds(app.proc.pid) - before) / n


def check_gate(app, out):
    lt = app.props.get("LoadTest")
    if not lt:
        return
    path = lt.get("Path", "/")
    expect = int(lt.get("ExpectedStatus", 200))
    t = lt.get("Thresholds") or {}
    cost = cost_per_request(app, path)
    # Task CPU units: 256 is .25 vCPU, 1024 is 1 vCPU
    # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskDefinition.html).
    vcpu = int(app.props.get("Cpu", 256)) / 1024
    tasks = deploy_count(app.props)
    if "Rate" in lt:
        need = lt["Rate"] * cost
        what = (f"gate {lt['Rate']} req/s on {path} x {cost:.4f} CPU-s = {need:.2f} vCPU; "
                f"{tasks} task(s) x {vcpu:g} vCPU = {tasks * vcpu:g} vCPU")
        if need >= tasks * vcpu:
            out.fail(f"{app.lid}: {what}: the gate's load does not fit the App")
        else:
            out.ok(f"{app.lid}: {what}")
    if "P99Ms" in t:
        alone_ms = cost / vcpu * 1000
        if alone_ms > t["P99Ms"]:
            out.fail(f"{app.lid}: one {path} alone takes {cost:.3f} CPU-s / {vcpu:g} vCPU = "
                     f"{alone_ms:.0f} ms, over the gate's p99 {t['P99Ms']} ms")
    args = ["--duration", f"{GATE_SECONDS}s", "--expect", str(expect), "--quiet", "--json",
            "--timeout", f"{int(lt.get('TimeoutMs', 5000))}ms", "--warm-up", "5s"]
    if "Rate" in lt:
        args += ["--rate", str(min(lt["Rate"], GATE_MAX_RATE))]
    else:
        args += ["--concurrency", str(min(lt["Concurrency"], GATE_MAX_CONCURRENCY))]
    for k, flag in (("P50Ms", "--p50"), ("P90Ms", "--p90"), ("P99Ms", "--p99")):
        if k in t:
            args += [flag, f"{t[k]}ms"]
    if "MaxErrorRate" in t:
        args += ["--max-error-rate", str(t["MaxErrorRate"])]
    r = subprocess.run(["cargo", "run", "-q", "--bin", "fargate-app", "--", "loadtest", app.url(path)] + args,
                       cwd=ROOT, capture_output=True, text=True)
    try:
        rep = json.loads(r.stdout)
        summary = (f"{rep.get('Requests')} requests, p99 {rep.get('P99Ms')} ms, "
                   f"errors {rep.get('ErrorRate')}")
    except ValueError:
        summary = (r.stderr.strip() or r.stdout.strip())[-300:]
    what = f"gate GET {path} at {' '.join(args[args.index('--quiet') + 2:])}: {summary}"
    if r.returncode != 0:
        out.fail(f"{app.lid}: {what} (loadtest exit {r.returncode})")
    else:
        out.ok(f"{app.lid}: {what}")


def check_scaling(app, out):
    sc = app.props.get("ScalingCheck")
    if not sc:
        return
    scaling = app.props.get("Scaling") or {}
    path, rate, want = sc["Path"], sc["Rate"], sc["ExpectDesired"]
    target = scaling.get("CpuPercent")
    if not isinstance(target, int):
        return out.fail(f"{app.lid}: ScalingCheck without a literal Scaling.CpuPercent: the probe "
                        f"cannot tell whether its load makes target tracking act")
    cost = cost_per_request(app, path)
    vcpu = int(app.props.get("Cpu", 256)) / 1024
    low, high = int(scaling.get("Min", 1)), int(scaling.get("Max", 1))
    util = min(100.0, rate * cost / (max(low, 1) * vcpu) * 100)
    reach = min(high, -(-int(max(low, 1) * util * 1000) // (target * 1000)))
    what = (f"scaling check {rate} req/s on {path} x {cost:.4f} CPU-s on {low} task(s) of "
            f"{vcpu:g} vCPU = {util:.0f}% CPU (target {target}%): target tracking sets "
            f"ceil({low} x {util:.0f}/{target}) = {reach} (Max {high}), expected {want}")
    if util <= target:
        out.fail(f"{app.lid}: {what}: the load does not lift the CPU above the target, nothing scales")
    elif reach < want:
        out.fail(f"{app.lid}: {what}: the load does not reach ExpectDesired")
    else:
        out.ok(f"{app.lid}: {what}")


class Out:
    def __init__(self, name, quiet=False):
        self.name, self.quiet, self.failures = name, quiet, []

    def ok(self, msg):
        if not self.quiet:
            print(f"ok    {self.name} {msg}", flush=True)
        return True

    def fail(self, msg):
        self.failures.append(f"{self.name} {msg}")
        if not self.quiet:
            print(f"FAIL  {self.name} {msg}", flush=True)
        return False


def probe_example(name, tpl, out):
    runs = RUNS.get(name)
    if runs is None:
        return out.fail(f"no test applications for this example: add them to RUNS (tests/apps) "
                        f"or list it in NOT_PROBED with a reason")
    with open(tpl) as f:
        source = yaml.load(f, Loader=CfnLoader)
    try:
        t = expand(tpl)
    except RuntimeError as e:
        return out.fail(str(e))
    res = t["Resources"]
    apps = []
    for sid, svc in res.items():
        if svc["Type"] != "AWS::ECS::Service" or not sid.endswith("Service"):
            continue
        lid = sid[:-len("Service")]
        if lid not in runs:
            out.fail(f"{lid}: no test application: add one to RUNS or list the example in NOT_PROBED")
            continue
        props = source["Resources"].get(lid, {}).get("Properties", {})
        apps.append((App(lid, svc, res, props, runs[lid].get("task_definition")), runs[lid]))
    names = discovery_names(source)
    for a, _ in apps:
        a.dns = names.get(a.lid)
    resolve = Resolver(t, PARAMS.get(name, {}), names)
    peers = [a for a, _ in apps]
    try:
        # Nginx Apps are checked against the image's default configuration, not run.
        for a, run in apps:
            if "nginx" in run:
                path, matcher, _ = a.health()
                if path in run["nginx"] and matches(200, matcher):
                    out.ok(f"{a.lid}: GET {path} -> 200 from the stock nginx config (not run)")
                else:
                    out.fail(f"{a.lid}: the stock nginx image answers 404 on {path}")
        live = [(a, run) for a, run in apps if "nginx" not in run]
        # Apps behind a load balancer first: the others (workers) connect to them.
        live.sort(key=lambda ar: ar[0].lb is None)
        # Every App behind a load balancer runs before any is checked (they call each other),
        # then the others (workers that connect to them).
        for a, run in live:
            try:
                a.start(run, resolve, peers)
            except KeyError as e:
                out.fail(f"{a.lid}: {e.args[0]}")
                return
            if a.lb is None:
                try:
                    a.proc.wait(20)
                except subprocess.TimeoutExpired:
                    out.ok(f"{a.lid}: running (no load balancer)")
                    continue
                if a.proc.returncode == 0:
                    out.ok(f"{a.lid}: {exit_reason(a).split(': ', 1)[1]}")
                else:
                    out.fail(f"{a.lid}: {exit_reason(a)}")
                continue
            check_health(a, out)
        for a, run in live:
            check_seed_calls(a, run, peers, out)
            if a.lb and a.proc.poll() is None:
                check_routes(a, run, out)
                check_gate(a, out)
                check_scaling(a, out)
            check_function(a, run, res, out)
    finally:
        for a, _ in apps:
            a.stop()


# `--only NAME[,NAME]`: probe those examples and their controls alone (a partial run).
ONLY = next((a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--only=")), None)


def main():
    failures, probed, controls = [], 0, 0
    for tpl in sorted(glob.glob(os.path.join(ROOT, "examples/*/template.yaml"))):
        name = os.path.basename(os.path.dirname(tpl))
        if ONLY and name not in ONLY:
            continue
        if name in NOT_PROBED:
            print(f"not probed  {name}: {NOT_PROBED[name]}")
            continue
        out = Out(name)
        probe_example(name, tpl, out)
        failures += out.failures
        probed += 1
    out = Out("004-branch-environment")
    check_stack_names(out)
    failures += out.failures
    for d in sorted(glob.glob(os.path.join(ROOT, "examples/*/"))):
        name = os.path.basename(d.rstrip("/"))
        if not os.path.exists(os.path.join(d, "template.yaml")) and name not in NOT_PROBED:
            failures.append(f"{name}: no template.yaml and not listed in NOT_PROBED")
    if "--no-controls" not in sys.argv:
        tmp = os.path.join(ROOT, "tests", ".tmp", "example-probe")
        os.makedirs(tmp, exist_ok=True)
        for name, old, new, want in NEGATIVE_CONTROLS:
            if ONLY and name not in ONLY:
                continue
            controls += 1
            with open(os.path.join(ROOT, "examples", name, "template.yaml")) as f:
                text = f.read()
            if old not in text:
                failures.append(f"control {name}: the example no longer has {old!r}: update NEGATIVE_CONTROLS")
                continue
            path = os.path.join(tmp, f"{name}.yaml")
            with open(path, "w") as f:
                f.write(text.replace(old, new, 1))
            out = Out(name, quiet=True)
            probe_example(name, path, out)
            hit = [f for f in out.failures if want in f]
            if hit:
                print(f"ok    control {name} with {new!r}: fails: {hit[0][len(name) + 1:]}")
            else:
                failures.append(f"control {name} with {new!r}: want a failure with {want!r}, "
                                f"got {out.failures or 'none'}")
                print(f"FAIL  control {name} with {new!r}: {failures[-1]}")
    if failures or probed == 0:
        print("\n".join(["", "failures:"] + failures))
        sys.exit(f"example probe: {len(failures)} failed, {probed} examples probed")
    print(f"example probe: {probed} examples probed against their seeds' applications, "
          f"{controls} broken variants caught")


main()
