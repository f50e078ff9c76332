//! The global table's home: the one region stack that declares the stack's
//! `AWS::DynamoDB::GlobalTable` (the first region of the rollout). CloudFormation
//! cannot hand a resource from one stack to another, so a definition that would
//! move the home (a new first region) is refused before anything changes.

use serde_json::Value as Json;

const GLOBAL_TABLE: &str = "AWS::DynamoDB::GlobalTable";

/// True when the template declares a global table.
pub fn declares_global_table(template_body: &str) -> bool {
    serde_json::from_str::<Json>(template_body)
        .ok()
        .and_then(|t| t.get("Resources").cloned())
        .and_then(|r| r.as_object().cloned())
        .is_some_and(|r| {
            r.values()
                .any(|res| res.get("Type").and_then(Json::as_str) == Some(GLOBAL_TABLE))
        })
}

/// A move of the global table's home from one region stack to another.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the global table lives in the stack of {from}; this definition declares it in {to} \
     (the first region of the rollout) instead, and CloudFormation cannot move a resource \
     between stacks: keep {from} first in the rollout order"
)]
pub struct HomeMove {
    pub from: String,
    pub to: String,
}

/// Given each region's desired template and what it runs now (None: not
/// deployed), the home move the definition asks for, if any.
pub fn home_move<'a>(
    regions: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
) -> Option<HomeMove> {
    let mut from = None;
    let mut to = None;
    for (region, desired, deployed) in regions {
        if deployed.is_some_and(declares_global_table) {
            from = Some(region.to_string());
        }
        if declares_global_table(desired) {
            to = Some(region.to_string());
        }
    }
    match (from, to) {
        (Some(from), Some(to)) if from != to => Some(HomeMove { from, to }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = r#"{"Resources": {"Orders": {"Type": "AWS::DynamoDB::GlobalTable"}}}"#;
    const OTHER: &str = r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}"#;

    #[test]
    fn a_new_first_region_would_move_the_home_and_is_named() {
        let m = home_move([
            ("eu-west-1", HOME, Some(OTHER)),
            ("us-east-1", OTHER, Some(HOME)),
        ]);
        assert_eq!(
            m,
            Some(HomeMove {
                from: "us-east-1".into(),
                to: "eu-west-1".into()
            })
        );
        assert!(m.unwrap().to_string().contains("keep us-east-1 first"));
    }

    #[test]
    fn the_same_home_a_first_build_or_no_table_move_nothing() {
        assert_eq!(
            home_move([
                ("us-east-1", HOME, Some(HOME)),
                ("eu-west-1", OTHER, Some(OTHER))
            ]),
            None
        );
        assert_eq!(
            home_move([("us-east-1", HOME, None), ("eu-west-1", OTHER, None)]),
            None
        );
        assert_eq!(home_move([("us-east-1", OTHER, Some(OTHER))]), None);
        // The home left the definition: removing it is refused elsewhere (retire).
        assert_eq!(home_move([("eu-west-1", OTHER, Some(OTHER))]), None);
    }
}
