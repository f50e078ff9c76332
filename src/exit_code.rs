//! The process exit codes strata documents, shared by the binary and the tests.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success (including "nothing to change") |
//! | 1 | deploy failed; the failed region(s) were rolled back automatically |
//! | 2 | invalid input: stack file or flags (nothing was changed) |
//! | 3 | policy violation: a mandatory rule failed, nothing was changed (`audit`: findings) |
//! | 4 | rollback failed: a region needs a human (see `runbooks/`) |
//! | 5 | the stack's deploy lock is held by someone else |
//! | 6 | refused by an operations rule (deploy window, missing DRI, AMI not promoted, approval missing) |
//! | 7 | AWS or environment error (endpoint unreachable, credentials, sandbox, lock not released) |
//! | 8 | `drift`: a live resource differs from the template its stack last applied |
//! | 130 | interrupted (Ctrl-C) before anything was left half-done |

pub const SUCCESS: i32 = 0;
pub const DEPLOY_FAILED_ROLLED_BACK: i32 = 1;
pub const INVALID_INPUT: i32 = 2;
pub const POLICY_VIOLATION: i32 = 3;
pub const ROLLBACK_FAILED: i32 = 4;
pub const LOCKED: i32 = 5;
pub const REFUSED: i32 = 6;
pub const ENVIRONMENT: i32 = 7;
pub const DRIFT_FOUND: i32 = 8;
pub const INTERRUPTED: i32 = 130;

/// The exit-code table, as printed by `strata --help`.
pub const HELP_TABLE: &str = "\
Exit codes:
  0    success (including \"nothing to change\")
  1    deploy failed; the failed region(s) were rolled back automatically
  2    invalid input: stack file or flags, an unnamed replacement (nothing changed)
  3    policy violation: a mandatory rule failed, nothing was changed
       (strata audit: the account has findings)
  4    rollback failed: a region needs a human (see runbooks/)
  5    the stack's deploy lock is held by someone else
  6    refused by an operations rule (deploy window, missing DRI, AMI not promoted,
       approval missing)
  7    AWS or environment error (endpoint unreachable, credentials, sandbox)
  8    drift found: a live resource differs from its stack's template (strata drift)
  130  interrupted (Ctrl-C)";
