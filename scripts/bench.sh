#!/usr/bin/env bash
# Benchmarks: set up, install the bench extra (Mesa, psutil), then run benchmarks/run.py.
# Options go to run.py, e.g. `bash scripts/bench.sh --quick` or `--members 1000`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
stamp=.venv/.bench-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet -e ".[bench]"
  touch "$stamp"
fi
exec .venv/bin/python benchmarks/run.py "$@"
