//! The data a definition's stacks hold, by physical name: each region's bucket,
//! each regional table in every region, each global table once (in its home
//! region). Names are deterministic, so `destroy` finds a kept bucket or table
//! again after its stack is gone. Pure.

use crate::stack::StackDef;
use crate::synth::{home_region, naming};
use serde::Serialize;

/// What kind of data resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataKind {
    /// An S3 bucket (versioned: its data is every object version).
    Bucket,
    /// A DynamoDB table in one region.
    Table,
    /// A DynamoDB global table: one name, a replica in every region.
    GlobalTable,
}

/// One bucket or table, where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataResource {
    pub region: String,
    pub kind: DataKind,
    pub name: String,
}

/// The buckets and tables of `regions` (the regions a destroy covers, left-behind
/// ones included) in `account` (bucket names carry it: `synth::naming`); global
/// tables only when `whole` (every region is destroyed).
pub fn data_resources(
    def: &StackDef,
    account: &str,
    regions: &[String],
    whole: bool,
) -> Vec<DataResource> {
    let mut out = Vec::new();
    for region in regions {
        if def.storage.enabled {
            out.push(DataResource {
                region: region.clone(),
                kind: DataKind::Bucket,
                name: naming::bucket_name_in(def, account, region),
            });
        }
        for table in def.tables.iter().filter(|t| !t.global) {
            out.push(DataResource {
                region: region.clone(),
                kind: DataKind::Table,
                name: naming::table_name(def, &table.name),
            });
        }
    }
    if whole {
        for table in def.tables.iter().filter(|t| t.global) {
            out.push(DataResource {
                region: home_region(def).to_string(),
                kind: DataKind::GlobalTable,
                name: naming::table_name(def, &table.name),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::load_str;

    fn example() -> StackDef {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/example.toml"))
                .unwrap();
        load_str(&text, "example.toml").unwrap()
    }

    #[test]
    fn every_region_has_its_bucket_and_the_global_table_is_named_once() {
        let def = example();
        let regions: Vec<String> = def.regions.iter().map(|r| r.name.clone()).collect();
        let all = data_resources(&def, "123456789012", &regions, true);
        let buckets = all.iter().filter(|d| d.kind == DataKind::Bucket).count();
        assert_eq!(buckets, regions.len());
        let globals: Vec<_> = all
            .iter()
            .filter(|d| d.kind == DataKind::GlobalTable)
            .collect();
        assert_eq!(
            globals.len(),
            def.tables.iter().filter(|t| t.global).count()
        );
        assert!(globals.iter().all(|g| g.region == home_region(&def)));
        let one = data_resources(&def, "123456789012", &regions[1..2], false);
        assert!(one
            .iter()
            .all(|d| d.region == regions[1] && d.kind != DataKind::GlobalTable));
    }
}
