//! deploy stage (placeholder module, filled by its issue).
