#!/usr/bin/env python3
"""Seed 002's users service (services/users/main.go), its routes and costs:
  GET /                  "service users version $API_VERSION"
  GET /users             the two users, JSON
  GET /service-products  GET $SERVICE_PRODUCTS/products and relay the body (500 on failure)
  GET /stress-test       the primes up to 1,000,000, each printed, then "Stress test completed"
Port 3000. Like godotenv.Load, the image's .env (API_VERSION=v0.0.2,
SERVICE_PRODUCTS=http://products:3000) fills only what the task's environment leaves unset.

/stress-test: the seed's Go loop (trial division up to sqrt(n) for every n) costs about 0.25
CPU-second on a full core; CPython runs the same loop about 20 times slower, so this computes the
same 78,498 primes with a sieve and then stays busy until the request has used
STRESS_CPU_SECONDS (default 0.25) of CPU: the seed's cost, not its instructions.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seednet  # noqa: E402

DOTENV = {"API_VERSION": "v0.0.2", "SERVICE_PRODUCTS": "http://products:3000"}
ENV = {k: os.environ.get(k) or v for k, v in DOTENV.items()}
STRESS_CPU = float(os.environ.get("STRESS_CPU_SECONDS", "0.25"))
USERS = [{"id": 1, "name": "John Doe", "email": "jhon@gmail.com"},
         {"id": 2, "name": "Jane Doe", "email": "jane@gmail.com"}]


def primes_to(limit):
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\0\0"
    for i in range(2, int(limit ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytes(len(range(i * i, limit + 1, i)))
    return [i for i in range(limit + 1) if sieve[i]]


def stress_test():
    start = time.thread_time()
    primes = primes_to(1_000_000)
    sys.stdout.write("".join(f"{p} is a prime number\n" for p in primes))
    while time.thread_time() - start < STRESS_CPU:
        pass
    return seednet.text("Stress test completed")


seednet.serve(3000, {
    "/": lambda: seednet.text("service users version " + ENV["API_VERSION"]),
    "/users": lambda: seednet.as_json(USERS),
    "/service-products": seednet.relay(ENV["SERVICE_PRODUCTS"] + "/products"),
    "/stress-test": stress_test,
})
