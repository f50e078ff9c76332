//! synth stage (placeholder module, filled by its issue).
