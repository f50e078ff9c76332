//! Test support: cli (filled by its owner).
