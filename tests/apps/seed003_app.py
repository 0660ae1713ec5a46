#!/usr/bin/env python3
"""Seed 003's app: one codebase that is the Lambda function behind the ALB and the Fargate
container, told apart by AWS_LAMBDA_RUNTIME_API as the seed's main.go does.
  GET /       sleeps 15 s, then {"message": "healthy"}
  GET /bang   {"message": "boom"}
  GET /pong   {"message": "ping"}
  GET /sleep  sleeps 15 s, then {"message": "awaken"}
  GET /env    {"message": "lambda"} under Lambda, {"message": "server"} in the container
In the container it listens on 8080 (gin's r.Run() default). Under Lambda it polls the runtime
API and answers ALB target-group events with the ALB's response fields.
Lambda runtime API: GET /2018-06-01/runtime/invocation/next gives the event and the request id
(Lambda-Runtime-Aws-Request-Id); POST /2018-06-01/runtime/invocation/{id}/response answers it
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
ALB events carry httpMethod and path; the answer needs statusCode, statusDescription, headers,
body and isBase64Encoded
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html).
"""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seednet  # noqa: E402

SLEEP_SECONDS = 15


def in_lambda():
    return bool(os.environ.get("AWS_LAMBDA_RUNTIME_API"))


def slow(message):
    def route():
        time.sleep(SLEEP_SECONDS)
        return seednet.as_json({"message": message})
    return route


ROUTES = {
    "/": slow("healthy"),
    "/bang": lambda: seednet.as_json({"message": "boom"}),
    "/pong": lambda: seednet.as_json({"message": "ping"}),
    "/sleep": slow("awaken"),
    "/env": lambda: seednet.as_json({"message": "lambda" if in_lambda() else "server"}),
}


def handler(event, context=None):
    """An ALB target-group event in, the ALB's response out."""
    route = ROUTES.get(event.get("path", "/")) if event.get("httpMethod", "GET") == "GET" else None
    status, _, body = route() if route else seednet.text("404 page not found\n", 404)
    reason = {200: "OK", 404: "Not Found"}.get(status, "")
    return {"statusCode": status, "statusDescription": f"{status} {reason}".strip(),
            "isBase64Encoded": False, "headers": {"Content-Type": "application/json"},
            "body": body}


def lambda_loop():
    base = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"
    while True:
        with urllib.request.urlopen(f"{base}/next") as r:
            request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(r.read())
        answer = json.dumps(handler(event)).encode()
        urllib.request.urlopen(urllib.request.Request(
            f"{base}/{request_id}/response", data=answer, method="POST")).read()


if __name__ == "__main__":
    if in_lambda():
        lambda_loop()
    else:
        seednet.serve(int(os.environ.get("PORT", "8080")), ROUTES)
