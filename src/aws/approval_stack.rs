//! Four-eyes approvals as tiny CloudFormation stacks, like the deploy lock's
//! records: `<app>-<env>-approval-<plan id>-<approver hash>` in the stack's first
//! region, one `WaitConditionHandle` (free, touches no service), the approver's
//! ARN, the plan id and the time in its tags. Deleted by the deploy that uses them.

use super::{Aws, CallError};
use crate::ops::approvals::{self, Approval, ApprovalStore, ApprovalStoreError};
use aws_sdk_cloudformation::types::{StackStatus, Tag};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const APPROVAL_TEMPLATE: &str = r#"{"AWSTemplateFormatVersion":"2010-09-09","Description":"strata four-eyes approval of one plan (operations.approvals); deleted by the deploy that uses it","Resources":{"Approval":{"Type":"AWS::CloudFormation::WaitConditionHandle"}}}"#;

const TAG_PLAN: &str = "strata:approval-plan-id";
const TAG_BY: &str = "strata:approved-by";
const TAG_AT: &str = "strata:approved-at";

/// The approvals of one stack ("<app>-<env>").
pub struct CfnApprovalStore<'a> {
    aws: &'a Aws,
    base: String,
}

impl<'a> CfnApprovalStore<'a> {
    pub fn new(aws: &'a Aws, base: &str) -> Self {
        CfnApprovalStore {
            aws,
            base: base.to_string(),
        }
    }
}

fn error(e: CallError) -> ApprovalStoreError {
    ApprovalStoreError {
        region: e.region.clone(),
        message: e.to_string(),
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn approval_from_tags(tags: &[Tag]) -> Option<Approval> {
    let get = |k: &str| {
        tags.iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    Some(Approval {
        plan_id: get(TAG_PLAN)?,
        approver: get(TAG_BY)?,
        approved_at: OffsetDateTime::parse(&get(TAG_AT)?, &Rfc3339).ok()?,
    })
}

impl CfnApprovalStore<'_> {
    /// The names of the live stacks starting with `prefix` (DescribeStacks, every page).
    async fn names(
        &self,
        region: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<Tag>)>, CallError> {
        let client = self.aws.cloudformation(region);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = client
                .describe_stacks()
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| CallError::from_sdk("cloudformation", "DescribeStacks", region, e))?;
            for s in page.stacks() {
                let name = s.stack_name().unwrap_or_default();
                if name.starts_with(prefix)
                    && !matches!(
                        s.stack_status(),
                        Some(StackStatus::DeleteComplete | StackStatus::DeleteInProgress)
                    )
                {
                    out.push((name.to_string(), s.tags().to_vec()));
                }
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn delete(&self, region: &str, name: &str) -> Result<(), CallError> {
        self.aws
            .cloudformation(region)
            .delete_stack()
            .stack_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::from_sdk("cloudformation", "DeleteStack", region, e))
    }
}

impl ApprovalStore for CfnApprovalStore<'_> {
    async fn record(&self, region: &str, approval: &Approval) -> Result<(), ApprovalStoreError> {
        let name = approvals::record_name(&self.base, &approval.plan_id, &approval.approver);
        let at = approval.approved_at.format(&Rfc3339).unwrap_or_default();
        let tags = [
            tag(TAG_PLAN, &approval.plan_id),
            tag(TAG_BY, &approval.approver),
            tag(TAG_AT, &at),
        ];
        let create = self
            .aws
            .cloudformation(region)
            .create_stack()
            .stack_name(&name)
            .template_body(APPROVAL_TEMPLATE)
            .set_tags(Some(tags.to_vec()))
            .send()
            .await;
        let Err(e) = create else {
            return Ok(());
        };
        let e = CallError::from_sdk("cloudformation", "CreateStack", region, e);
        if e.code != "AlreadyExistsException" {
            return Err(error(e));
        }
        // Approved before: the same record, its time refreshed (UpdateStack of the
        // tags alone; "No updates are to be performed" when nothing changed).
        let update = self
            .aws
            .cloudformation(region)
            .update_stack()
            .stack_name(&name)
            .use_previous_template(true)
            .set_tags(Some(tags.to_vec()))
            .send()
            .await;
        match update {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = CallError::from_sdk("cloudformation", "UpdateStack", region, e);
                if e.message.contains("No updates are to be performed") {
                    Ok(())
                } else {
                    Err(error(e))
                }
            }
        }
    }

    async fn list(&self, region: &str, plan_id: &str) -> Result<Vec<Approval>, ApprovalStoreError> {
        let prefix = approvals::record_prefix(&self.base, plan_id);
        let stacks = self.names(region, &prefix).await.map_err(error)?;
        Ok(stacks
            .iter()
            .filter_map(|(_, tags)| approval_from_tags(tags))
            .collect())
    }

    async fn consume(&self, region: &str, plan_id: &str) -> Result<(), ApprovalStoreError> {
        let prefix = approvals::record_prefix(&self.base, plan_id);
        for (name, _) in self.names(region, &prefix).await.map_err(error)? {
            self.delete(region, &name).await.map_err(error)?;
        }
        Ok(())
    }
}
