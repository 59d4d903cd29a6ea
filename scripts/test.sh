#!/usr/bin/env bash
# Set up and run the whole test suite (real model, FAISS and SQLite; Discord's transport faked).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
