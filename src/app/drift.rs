//! The deploy's put-back of drift: the plan's region stacks checked against the
//! template each last applied (`crate::drift`), and what differs restored through
//! the service APIs, since a CloudFormation update leaves alone a property it does
//! not change (docs/drift.md, "Deploy puts it back").

use super::{AppError, Pipeline};
use crate::aws::drift_reads::AwsDrift;
use crate::drift::{self, DriftReport, Restored, StackRef};
use crate::events::Phase;
use crate::plan::StackRole;

impl Pipeline {
    /// The region stacks this command's desired state names.
    fn drift_stacks(&self) -> Vec<StackRef> {
        self.desired
            .stacks()
            .filter(|s| s.role == StackRole::Region)
            .map(|s| StackRef {
                region: s.region.clone(),
                stack: s.stack_name.clone(),
            })
            .collect()
    }

    /// What differs now in the desired state's region stacks (read-only).
    pub async fn drift(&self) -> DriftReport {
        let port = AwsDrift::new(&self.aws);
        drift::detect(&port, &self.def().stack_name(), &self.drift_stacks()).await
    }

    /// Check again and put back every drifted property (under the deploy lock: the
    /// caller holds it). A region that cannot be read is a warning; a failed
    /// put-back an error naming what was put back before it.
    pub async fn restore_drift(&self) -> Result<Vec<Restored>, AppError> {
        let report = self.drift().await;
        for (region, reason) in report.errors() {
            self.events.warn(
                Some(region),
                Phase::Drift,
                format!("drift not checked: {reason}"),
            );
        }
        let port = AwsDrift::new(&self.aws);
        drift::restore(&port, &report.drift, &self.events)
            .await
            .map_err(|e| {
                let done: Vec<String> = e.done.iter().map(Restored::line).collect();
                AppError::Environment(if done.is_empty() {
                    e.to_string()
                } else {
                    format!("{e} (already {})", done.join("; "))
                })
            })
    }
}
