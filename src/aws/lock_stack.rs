//! The deploy lock's records as tiny CloudFormation stacks (`<app>-<env>-lock`).
//!
//! Why CloudFormation: `CreateStack` of a name that exists fails atomically with
//! `AlreadyExistsException` — a conditional write every region already has, that
//! needs no table or bucket to exist before the first deploy, and that keeps all of
//! strata's state in CloudFormation. The holder is written in the stack's tags.

use super::{Aws, CallError};
use crate::ops::lock::{LockInfo, LockStore, LockStoreError};
use aws_sdk_cloudformation::types::{StackStatus, Tag};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A template with one resource that costs nothing and touches no service.
const LOCK_TEMPLATE: &str = r#"{"AWSTemplateFormatVersion":"2010-09-09","Description":"strata deploy lock (delete with `strata unlock`)","Resources":{"Lock":{"Type":"AWS::CloudFormation::WaitConditionHandle"}}}"#;

const TAG_ID: &str = "strata:lock-id";
const TAG_HOLDER: &str = "strata:lock-holder";
const TAG_COMMAND: &str = "strata:lock-command";
const TAG_HOST: &str = "strata:lock-host";
const TAG_PID: &str = "strata:lock-pid";
const TAG_AT: &str = "strata:lock-acquired-at";

/// How many times (a second apart) a lock record still in a stack operation is
/// tried again before its deletion is reported as failed.
const SETTLE_TRIES: u32 = 60;

/// Lock records of one stack, as `<stack>-lock` CloudFormation stacks.
pub struct CfnLockStore<'a> {
    aws: &'a Aws,
    stack_name: String,
}

impl<'a> CfnLockStore<'a> {
    /// `base_name` is the definition's "<app>-<env>".
    pub fn new(aws: &'a Aws, base_name: &str) -> Self {
        CfnLockStore {
            aws,
            stack_name: format!("{base_name}-lock"),
        }
    }

    fn error(&self, e: CallError) -> LockStoreError {
        LockStoreError {
            region: e.region.clone(),
            unreachable: e.is_unreachable(),
            message: e.to_string(),
        }
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn info_from_tags(tags: &[Tag]) -> Option<LockInfo> {
    let get = |k: &str| {
        tags.iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    Some(LockInfo {
        id: get(TAG_ID)?,
        holder: get(TAG_HOLDER).unwrap_or_default(),
        command: get(TAG_COMMAND).unwrap_or_default(),
        host: get(TAG_HOST).unwrap_or_default(),
        pid: get(TAG_PID).and_then(|p| p.parse().ok()).unwrap_or(0),
        acquired_at: get(TAG_AT)
            .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    })
}

impl LockStore for CfnLockStore<'_> {
    async fn try_create(
        &self,
        region: &str,
        lock: &LockInfo,
    ) -> Result<Option<LockInfo>, LockStoreError> {
        for _ in 0..3 {
            let at = lock.acquired_at.format(&Rfc3339).unwrap_or_default();
            let result = self
                .aws
                .cloudformation(region)
                .create_stack()
                .stack_name(&self.stack_name)
                .template_body(LOCK_TEMPLATE)
                // AWS answers a retry with this token as the first call (CreateStack,
                // ClientRequestToken); an endpoint that does not answers
                // AlreadyExists, and `lock::acquire` recognises its own lock id.
                .client_request_token(format!("strata-lock-{}", lock.id))
                .tags(tag(TAG_ID, &lock.id))
                .tags(tag(TAG_HOLDER, &lock.holder))
                .tags(tag(TAG_COMMAND, &lock.command))
                .tags(tag(TAG_HOST, &lock.host))
                .tags(tag(TAG_PID, &lock.pid.to_string()))
                .tags(tag(TAG_AT, &at))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(None),
                Err(e) => {
                    let e = CallError::from_sdk("cloudformation", "CreateStack", region, e);
                    if e.code != "AlreadyExistsException" {
                        return Err(self.error(e));
                    }
                }
            }
            // Someone holds it: say who. If it is being deleted, try again shortly.
            if let Some(holder) = self.read(region).await? {
                return Ok(Some(holder));
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        Err(LockStoreError {
            region: region.to_string(),
            message: "the lock record kept appearing and vanishing".into(),
            unreachable: false,
        })
    }

    async fn read(&self, region: &str) -> Result<Option<LockInfo>, LockStoreError> {
        let result = self
            .aws
            .cloudformation(region)
            .describe_stacks()
            .stack_name(&self.stack_name)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                let e = CallError::from_sdk("cloudformation", "DescribeStacks", region, e);
                if e.code == "ValidationError" && e.message.contains("does not exist") {
                    return Ok(None);
                }
                return Err(self.error(e));
            }
        };
        Ok(out
            .stacks()
            .iter()
            // A record being deleted is released already.
            .find(|s| {
                !matches!(
                    s.stack_status(),
                    Some(StackStatus::DeleteComplete | StackStatus::DeleteInProgress)
                )
            })
            .map(|s| {
                info_from_tags(s.tags()).unwrap_or(LockInfo {
                    id: "unknown".into(),
                    holder: "unknown (lock stack without strata tags)".into(),
                    command: String::new(),
                    host: String::new(),
                    pid: 0,
                    acquired_at: OffsetDateTime::UNIX_EPOCH,
                })
            }))
    }

    /// DeleteStack of the record. CreateStack returns before the record's stack is
    /// CREATE_COMPLETE, and a stack in an operation refuses DeleteStack ("cannot be
    /// deleted while in status CREATE_IN_PROGRESS", as the sandbox enforces:
    /// docs/sandbox.md): a record still settling is waited for, a second at a time
    /// for up to `SETTLE_TRIES` seconds, then deleted.
    async fn delete(&self, region: &str) -> Result<(), LockStoreError> {
        let mut tries = 0;
        loop {
            let result = self
                .aws
                .cloudformation(region)
                .delete_stack()
                .stack_name(&self.stack_name)
                .send()
                .await;
            let e = match result {
                Ok(_) => return Ok(()),
                Err(e) => CallError::from_sdk("cloudformation", "DeleteStack", region, e),
            };
            tries += 1;
            let settling = e.message.contains("cannot be deleted while in status")
                && e.message.contains("_IN_PROGRESS");
            if !settling || tries >= SETTLE_TRIES {
                return Err(self.error(e));
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}
