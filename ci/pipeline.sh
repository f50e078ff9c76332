#!/usr/bin/env bash
# strata's example deployment pipeline, for any CI system.
#
#   ci/pipeline.sh pr     validate + check + plan every stack; plans saved as artifacts
#   ci/pipeline.sh main   validate + check, then deploy staging, then production,
#                         with the same command and --yes --output json
#
# Environment:
#   STRATA            the strata binary (default: strata on PATH)
#   STAGING_STACK     default stacks/staging.toml
#   PRODUCTION_STACK  default stacks/example.toml
#   ARTIFACTS         directory for plans and deploy logs (default: artifacts)
#   STRATA_DRI        who is responsible (CI user variables are used when unset)
#   AWS_*             the standard AWS credential chain / endpoint
#
# Every strata exit code is passed through (see `strata --help`): the pipeline
# stops at the first failing step, and a deploy that rolled back fails the job.
set -euo pipefail

mode=${1:?usage: ci/pipeline.sh pr|main}
strata=${STRATA:-strata}
staging=${STAGING_STACK:-stacks/staging.toml}
production=${PRODUCTION_STACK:-stacks/example.toml}
artifacts=${ARTIFACTS:-artifacts}
mkdir -p "$artifacts"

step() { printf '==> %s\n' "$*" >&2; }
name() { basename "$1" .toml; }

for stack in "$staging" "$production"; do
  step "validate $stack"
  "$strata" validate "$stack" --output json > "$artifacts/validate-$(name "$stack").json"
  step "check $stack"
  "$strata" check "$stack" --output json > "$artifacts/check-$(name "$stack").json"
done

case "$mode" in
  pr)
    for stack in "$staging" "$production"; do
      step "plan $stack"
      "$strata" plan "$stack" --output json > "$artifacts/plan-$(name "$stack").jsonl"
    done
    ;;
  main)
    for stack in "$staging" "$production"; do
      step "deploy $stack"
      "$strata" deploy "$stack" --yes --output json | tee "$artifacts/deploy-$(name "$stack").jsonl"
    done
    ;;
  *)
    echo "unknown mode '$mode' (pr or main)" >&2
    exit 2
    ;;
esac
step "done"
