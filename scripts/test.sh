#!/usr/bin/env bash
# The test suite: set up, lint, then run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
exec .venv/bin/python -m pytest "$@"
