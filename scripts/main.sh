#!/usr/bin/env bash
# The main job: set up, then run the calibrated default scenario end to end: simulate 100
# members over the scenario's horizon on 2 processes, store the run in out/loyaltytrap.duckdb
# and write its self-contained HTML report (the path is printed last). Options are passed on,
# e.g. `scripts/main.sh --members 400 --seed 3` or `--report out/my-report.html`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/loyaltytrap run kremlin-2026 --report --members 100 --workers 2 --batch 50 "$@"
