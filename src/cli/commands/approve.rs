//! `strata approve FILE PLAN_ID`: the caller approves a plan of a stack that needs
//! more than one person (four eyes, `operations.approvals`). The plan is computed
//! as `strata plan` computes it, and must be the plan id given.

use super::rollout_ctx::{self, Args};
use super::Outcome;
use crate::cli::args::{ApproveArgs, GlobalArgs, OutputFormat};
use strata::app::Command;
use strata::exit_code;
use strata::ops::approvals::VALIDITY;
use time::format_description::well_known::Rfc3339;

pub async fn run(global: &GlobalArgs, args: ApproveArgs) -> Outcome {
    let ctx = rollout_ctx::prepare(
        global,
        &args.file,
        Command::Approve,
        Args {
            events_on_stderr: true,
            ..Args::default()
        },
    )
    .await?;
    let approval = ctx
        .approve(args.plan_id.trim())
        .await
        .map_err(rollout_ctx::failure)?;
    ctx.renderer.finish();
    let required = ctx.def().operations.approvals;
    let at = approval.approved_at.format(&Rfc3339).unwrap_or_default();
    let until = (approval.approved_at + VALIDITY)
        .format(&Rfc3339)
        .unwrap_or_default();
    if global.output == OutputFormat::Json {
        println!(
            "{}",
            serde_json::json!({ "approval": {
                "stack": ctx.def().stack_name(),
                "plan_id": approval.plan_id,
                "approved_by": approval.approver,
                "approved_at": at,
                "expires_at": until,
                "required": required,
            }})
        );
    } else {
        println!(
            "{}: plan {} approved by {} at {at} (counts until {until} for a deploy by anyone but {})",
            ctx.def().stack_name(),
            approval.plan_id,
            approval.approver,
            approval.approver
        );
        if required <= 1 {
            println!(
                "note: {} needs no approval (operations.approvals = {required})",
                args.file.display()
            );
        }
    }
    Ok(exit_code::SUCCESS)
}
