//! Test support: cfn_lint (filled by its owner).
