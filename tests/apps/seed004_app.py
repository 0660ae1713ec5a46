#!/usr/bin/env python3
"""Seed 004's branch environment runs "a base service deployed by a sample definition"; the seed
names no routes, so this is a sample web app on 8080 that answers / with the branch it runs
(BRANCH, from the stack's Branch parameter) and nothing else."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seednet  # noqa: E402

seednet.require_env("BRANCH")
seednet.serve(8080, {"/": lambda: seednet.text(f"branch {os.environ['BRANCH']}\n")})
