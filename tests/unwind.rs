//! Unwind at every step, sampled, end to end: the real binary deploys the example
//! stack through the fault proxy, whose rule fails the k-th mutating call with a
//! non-retryable AWS error (400 ValidationError: the SDK does not retry it), for a
//! few k spread over an undisturbed deploy's mutating calls. Each run must leave
//! no stack failed or in progress, and the same command again must finish the job
//! and converge (a third run changes nothing). The in-memory version that fails
//! every step in turn is `deploy::unwind` (unit tests).

mod support;

use std::path::{Path, PathBuf};
use support::cli::{self, Run};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::{sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// The example without CloudFront (fewer resources per run), a short gate timeout.
fn fixture(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let text = text
        .replace("cloudfront = true", "cloudfront = false")
        .replace("gate_timeout = \"10m\"", "gate_timeout = \"2s\"");
    assert!(
        text.contains("cloudfront = false"),
        "example.toml changed shape"
    );
    let path = dir.join("unwind.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn deploy(proxy: &FaultProxy, file: &Path) -> Run {
    cli::strata_at(
        &proxy.url(),
        &[
            "--output",
            "json",
            "deploy",
            file.to_str().unwrap(),
            "--yes",
            "--bake",
            "0s",
        ],
    )
}

fn mutating(proxy: &FaultProxy) -> u64 {
    proxy.mutating_calls().values().sum()
}

/// Every stack of the app in every region: (region, name, status).
/// The stacks once the deletions under way have ended (the sandbox deletes
/// asynchronously, as AWS does: a released lock is DELETE_IN_PROGRESS for a moment).
fn stacks() -> Vec<(String, String, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let now = stacks_now();
        if !now.iter().any(|(_, _, s)| s == "DELETE_IN_PROGRESS")
            || std::time::Instant::now() > deadline
        {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn stacks_now() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for region in REGIONS {
        let cfn = sdk::cloudformation(region);
        let listed =
            sdk::block_on(
                async move { cfn.describe_stacks().send().await.expect("DescribeStacks") },
            );
        for s in listed.stacks() {
            let name = s.stack_name().unwrap_or_default().to_string();
            let status = s
                .stack_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            if name.starts_with("shop-prod") && status != "DELETE_COMPLETE" {
                out.push((region.to_string(), name, status));
            }
        }
    }
    // DescribeStacks lists in no promised order.
    out.sort();
    out
}

#[test]
fn a_failing_kth_mutating_call_of_a_cold_deploy_unwinds_and_a_rerun_converges() {
    let moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path());
    let proxy = FaultProxy::in_front_of_sandbox();

    deploy(&proxy, &file).expect_code(0);
    let steps = mutating(&proxy);
    assert!(steps >= 6, "a cold deploy made {steps} mutating calls");
    let converged: Vec<(String, String)> = stacks().into_iter().map(|(r, n, _)| (r, n)).collect();

    let samples = [steps / 5, steps / 2, steps * 4 / 5];
    for k in samples {
        let k = k.max(1);
        moto.reset();
        proxy.clear_rules();
        proxy.clear_calls();
        proxy.add(
            Rule::new(Fault::error(
                400,
                "ValidationError",
                "injected: this call fails",
            ))
            .mutating()
            .after(k - 1)
            .times(1),
        );
        let failed = deploy(&proxy, &file);
        let hit = proxy
            .calls()
            .into_iter()
            .filter(|c| c.key.is_mutating())
            .nth((k - 1) as usize)
            .map(|c| format!("{} {}", c.key.region, c.key.action))
            .unwrap_or_default();
        let what = format!("mutating call {k}/{steps} ({hit}) failed");
        for (region, name, status) in stacks() {
            let settled = status.ends_with("_COMPLETE")
                && !status.contains("FAILED")
                && status != "ROLLBACK_COMPLETE";
            assert!(
                settled || status == "REVIEW_IN_PROGRESS",
                "{what}: {name} in {region} left {status}\n{failed}"
            );
        }

        proxy.clear_rules();
        let again = deploy(&proxy, &file);
        assert_eq!(again.code, 0, "{what}: the re-run did not finish\n{again}");
        let now: Vec<(String, String)> = stacks().into_iter().map(|(r, n, _)| (r, n)).collect();
        assert_eq!(now, converged, "{what}: the re-run left other stacks");
        proxy.clear_calls();
        deploy(&proxy, &file).expect_code(0);
        assert_eq!(
            mutating(&proxy),
            0,
            "{what}: not converged: {:?}",
            proxy.mutating_calls()
        );
        eprintln!(
            "unwind e2e: {what}: failed run exit {}, re-run converged",
            failed.code
        );
    }
    eprintln!(
        "unwind e2e: failed {} of {steps} mutating steps (sampled)",
        samples.len()
    );
}
