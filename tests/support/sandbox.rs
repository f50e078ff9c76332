//! Test support: sandbox (filled by its owner).
