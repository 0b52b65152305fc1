#!/usr/bin/env bash
# Runs every check and every test: formatting, lints, Rust unit/integration tests (including the
# generated-code freshness test and the store conformance suite), the botocore wire suite, and the
# end-to-end suite against the real binary with boto3 and the AWS CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo test --workspace --all-features
cargo build -p ec2d -p ec2-protocol --all-features
# the fuzz targets (outside the workspace; scripts/fuzz.sh runs them) must keep building
cargo build -q --manifest-path fuzz/Cargo.toml
# Two workers (pytest-xdist), each test file whole in one worker so a file's own order holds;
# EC2D_TEST_WORKERS=0 runs them in this process.
# The project's .venv (scripts/venv.sh: the pinned pytest, boto3 and AWS CLI) when it exists.
if [ -x .venv/bin/python ]; then export PATH="$PWD/.venv/bin:$PATH"; fi
python3 -m pytest tests/wire tests/e2e -q -p no:cacheprovider -n "${EC2D_TEST_WORKERS:-2}" --dist loadfile
