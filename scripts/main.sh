#!/usr/bin/env bash
# The main job: set up, then run the calibrated default scenario end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/loyaltytrap run kremlin-2026 "$@"
