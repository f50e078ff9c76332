//! `strata unlock FILE [--id ID]`: break a deploy lock whose holder died.

use super::{Failure, Outcome};
use crate::cli::args::{GlobalArgs, OutputFormat, UnlockArgs};
use strata::aws::lock_stack::CfnLockStore;
use strata::exit_code;
use strata::ops::lock;

pub async fn run(global: &GlobalArgs, args: UnlockArgs) -> Outcome {
    let def = super::load_stack(global, &args.file)?;
    let aws = super::connect(global).await;
    super::check_account(&aws, &def).await?;
    let store = CfnLockStore::new(&aws, &def.stack_name());
    let regions: Vec<&str> = def.regions.iter().map(|r| r.name.as_str()).collect();
    let out = lock::unlock(&store, &regions, args.id.as_deref()).await;
    if global.output == OutputFormat::Json {
        println!("{}", serde_json::to_string(&out).unwrap_or_default());
    } else {
        let now = time::OffsetDateTime::now_utc();
        if out.removed.is_empty() && out.kept.is_empty() && out.errors.is_empty() {
            println!("{}: no deploy lock is held", def.stack_name());
        }
        for (region, h) in &out.removed {
            println!("{region}: removed the lock of {}", h.describe(now));
        }
        for (region, h) in &out.kept {
            println!(
                "{region}: kept the lock of {} (another id)",
                h.describe(now)
            );
        }
    }
    if out.errors.is_empty() {
        Ok(exit_code::SUCCESS)
    } else {
        Err(Failure::new(
            exit_code::ENVIRONMENT,
            format!(
                "could not unlock every region: {}; run `strata unlock {}` again",
                out.errors.join("; "),
                args.file.display()
            ),
        ))
    }
}
