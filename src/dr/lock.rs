//! The deploy lock around a DR command: taken by a majority of the regions other
//! than the one the command acts on (which may be down), released on every exit.

use super::DrError;
use crate::aws::lock_stack::CfnLockStore;
use crate::aws::Aws;
use crate::ops::lock::{self, LockInfo};
use crate::stack::StackDef;
use std::future::Future;

/// Run `work` while holding the stack's deploy lock, `region` excluded from the vote.
pub async fn with_lock<T>(
    aws: &Aws,
    def: &StackDef,
    region: &str,
    holder: &str,
    command: &str,
    work: impl Future<Output = Result<T, DrError>>,
) -> Result<T, DrError> {
    let store = CfnLockStore::new(aws, &def.stack_name());
    let regions: Vec<String> = def.regions.iter().map(|r| r.name.clone()).collect();
    let voters = lock::voters(&regions, Some(region));
    let guard = lock::acquire(&store, &voters, LockInfo::new(holder, command))
        .await
        .map_err(|e| DrError::Locked {
            lock_id: match &e {
                lock::LockError::Held { holder, .. } => Some(holder.id.clone()),
                _ => None,
            },
            message: e.to_string(),
        })?;
    let result = work.await;
    let _ = lock::release(&store, &guard).await;
    result
}
