//! `cargo xtask <task>`: development tasks for strata.
//!
//! - `codegen`: regenerate `src/cfn/generated/` from `schemas/registry/`.
//! - `codegen --check`: exit 1 if the generated files are stale.
//! - `vendor-schemas DIR VERSION WHEEL_SHA256`: re-vendor `schemas/` from an unpacked
//!   cfn-lint wheel (see docs/codegen.md).

use anyhow::{bail, Result};
use xtask::{codegen, vendor};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = codegen::workspace_root();
    match args.as_slice() {
        ["codegen"] => {
            let files = codegen::generate(&root)?;
            let written = codegen::write(&root, &files)?;
            let lines: usize = files.iter().map(|f| f.contents.lines().count()).sum();
            eprintln!(
                "{} files, {lines} lines; {} changed",
                files.len(),
                written.len()
            );
            for p in written {
                eprintln!("  wrote {}", p.display());
            }
            Ok(())
        }
        ["codegen", "--check"] => {
            let files = codegen::generate(&root)?;
            let stale = codegen::stale_files(&root, &files)?;
            if stale.is_empty() {
                return Ok(());
            }
            for p in &stale {
                eprintln!("  stale: {}", p.display());
            }
            bail!("generated code is stale: run `cargo xtask codegen`");
        }
        ["vendor-schemas", dir, version, wheel_sha256] => {
            let today = String::from_utf8(
                std::process::Command::new("date")
                    .args(["-u", "+%F"])
                    .output()?
                    .stdout,
            )?;
            vendor::vendor(
                &root,
                std::path::Path::new(dir),
                version,
                wheel_sha256,
                today.trim(),
            )?;
            eprintln!("vendored {} schemas", vendor::VENDORED_TYPES.len());
            Ok(())
        }
        _ => bail!(
            "usage: cargo xtask codegen [--check]\n       \
             cargo xtask vendor-schemas DIR VERSION WHEEL_SHA256"
        ),
    }
}
