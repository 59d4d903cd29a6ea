#!/usr/bin/env bash
# Set up, lint, check formatting, and run the whole test suite (real model, FAISS and SQLite; Discord's transport faked).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -q "$@"
