//! The deploy lock against the sandbox: atomic, tells who holds it, breakable.

mod support;

use strata::aws::lock_stack::CfnLockStore;
use strata::ops::lock::{self, LockError, LockInfo};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_held_lock_refuses_the_next_holder_until_unlock_breaks_it() {
    let _moto = support::sandbox::exclusive();
    let endpoint = support::sandbox::endpoint();
    rt().block_on(async {
        let aws = support::aws::connect(&endpoint).await;
        // The example stack is "shop-prod": its lock stacks are "shop-prod-lock".
        let store = CfnLockStore::new(&aws, "shop-prod");
        let held = lock::acquire(&store, &REGIONS, LockInfo::new("alice", "deploy"))
            .await
            .expect("the first holder gets the lock");
        assert_eq!(held.regions.len(), 3);

        match lock::acquire(&store, &REGIONS, LockInfo::new("bob", "deploy")).await {
            Err(LockError::Held { holder, regions }) => {
                assert_eq!(holder.holder, "alice");
                assert_eq!(holder.command, "deploy");
                assert_eq!(holder.id, held.info.id);
                assert_eq!(
                    regions,
                    vec!["eu-west-1"],
                    "refused at the first region in order"
                );
            }
            other => panic!("bob must be refused, got {other:?}"),
        }
    });

    // Alice's process died: break the lock on purpose through the CLI.
    let run =
        support::cli::run(support::cli::sandbox_command().args(["unlock", "stacks/example.toml"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("removed the lock of alice"),
        "{}",
        run.stdout
    );

    rt().block_on(async {
        let aws = support::aws::connect(&endpoint).await;
        let store = CfnLockStore::new(&aws, "shop-prod");
        let g = lock::acquire(&store, &REGIONS, LockInfo::new("bob", "deploy"))
            .await
            .expect("after unlock the lock is free");
        assert!(lock::release(&store, &g).await.is_empty());
        assert!(
            lock::acquire(&store, &REGIONS, LockInfo::new("carol", "deploy"))
                .await
                .is_ok()
        );
    });
}

#[test]
fn unlock_with_another_id_keeps_the_lock() {
    let _moto = support::sandbox::exclusive();
    let endpoint = support::sandbox::endpoint();
    let id = rt().block_on(async {
        let aws = support::aws::connect(&endpoint).await;
        let store = CfnLockStore::new(&aws, "shop-prod");
        let g = lock::acquire(&store, &REGIONS, LockInfo::new("alice", "deploy"))
            .await
            .unwrap();
        g.info.id
    });
    let run = support::cli::run(support::cli::sandbox_command().args([
        "unlock",
        "stacks/example.toml",
        "--id",
        "0000000000000000",
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("kept the lock of alice"),
        "{}",
        run.stdout
    );
    let run = support::cli::run(support::cli::sandbox_command().args([
        "unlock",
        "stacks/example.toml",
        "--id",
        &id,
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout.matches("removed the lock").count(),
        3,
        "{}",
        run.stdout
    );
}
