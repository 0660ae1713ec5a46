#!/usr/bin/env python3
"""Seed 002's products service (services/products/main.go):
  GET /               "service products API version $API_VERSION"
  GET /products       the three products, JSON
  GET /service-users  GET $SERVICE_USERS/users and relay the body (500 on failure)
Port 3000. The image's .env (API_VERSION=v0.0.2, SERVICE_USERS=http://users:3000) fills only
what the task's environment leaves unset, as godotenv.Load does.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seednet  # noqa: E402

DOTENV = {"API_VERSION": "v0.0.2", "SERVICE_USERS": "http://users:3000"}
ENV = {k: os.environ.get(k) or v for k, v in DOTENV.items()}
PRODUCTS = [{"id": 1, "name": "Laptop", "price": 1000},
            {"id": 2, "name": "Mouse", "price": 20},
            {"id": 3, "name": "Keyboard", "price": 50}]


seednet.serve(3000, {
    "/": lambda: seednet.text("service products API version " + ENV["API_VERSION"]),
    "/products": lambda: seednet.as_json(PRODUCTS),
    "/service-users": seednet.relay(ENV["SERVICE_USERS"] + "/users"),
})
