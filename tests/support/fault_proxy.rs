//! Test support: fault_proxy (filled by its owner).
