//! `dr::dns_reads::DnsReads` for the AWS adapter, over the calls
//! `route53_records` and `dr_compute` make.

use super::{dr_compute, route53_records, CloudApi};
use crate::call_error::CallError;
use crate::dr::dns_reads::{DnsReads, HealthCheckView, RecordView};

impl DnsReads for CloudApi {
    async fn hosted_zone_id(&self, name: &str) -> Result<Option<String>, CallError> {
        route53_records::hosted_zone_id(&self.aws, name).await
    }

    async fn record_sets(&self, zone_id: &str, name: &str) -> Result<Vec<RecordView>, CallError> {
        route53_records::record_sets(&self.aws, zone_id, name).await
    }

    async fn health_check(&self, id: &str) -> Result<Option<HealthCheckView>, CallError> {
        route53_records::health_check(&self.aws, id).await
    }

    async fn healthy_targets(
        &self,
        region: &str,
        dns_name: &str,
    ) -> Result<Option<u32>, CallError> {
        Ok(
            dr_compute::load_balancer_by_dns(&self.aws, region, dns_name)
                .await?
                .map(|lb| lb.healthy_targets),
        )
    }
}
