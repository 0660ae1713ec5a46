#!/usr/bin/env python3
"""Seed 001's app: a basic Python web app on port 8448 (docker-compose up: http://localhost:8448,
health endpoint http://localhost:8448/_health)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seednet  # noqa: E402

seednet.serve(8448, {
    "/": lambda: seednet.text("Hello from the scalable app\n"),
    "/_health": lambda: seednet.as_json({"status": "ok"}),
})
