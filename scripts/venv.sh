#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environment .venv with the pinned test clients of
# requirements-test.txt. Use it with `export PATH="$PWD/.venv/bin:$PATH"` (as .ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python3 ]; then
    python3 -m venv .venv
fi
.venv/bin/python3 -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
