#!/usr/bin/env bash
# strata's main job, on the local sandbox: start moto, then deploy the example
# stack (stacks/example.toml) to three regions, one region at a time with health
# gates and progress, and show the result. Safe to run again: a second run finds
# nothing to change. Stop the sandbox afterwards with `strata sandbox down`.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --bin strata
strata="${CARGO_TARGET_DIR:-target}/debug/strata"

step() { printf '\n==> %s\n' "$*" >&2; }

step "sandbox: moto on 127.0.0.1 (the first run builds .strata/venv with a pinned uv, ~25 s)"
"$strata" sandbox up
eval "$("$strata" sandbox env)"

step "validate and check the definition (no AWS call)"
"$strata" validate stacks/example.toml
"$strata" check stacks/example.toml

step "deploy: AMI copies, then region by region with health gates and a short bake"
"$strata" deploy stacks/example.toml --yes --bake "${BAKE:-5s}" --dri "${STRATA_DRI:-demo}"

step "status across regions"
"$strata" status stacks/example.toml

step "what the routed DNS names answer"
"$strata" dr dns stacks/example.toml

printf '\nDone. The sandbox keeps running: %s sandbox down\n' "$strata" >&2
