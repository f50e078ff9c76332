//! The code is formatted as `cargo fmt` formats it (rustfmt's defaults, no
//! configuration): a change that is not fails here, naming the files, so nobody's
//! next `cargo fmt` rewrites someone else's code.

use std::process::Command;

#[test]
fn every_source_file_is_formatted_as_cargo_fmt_formats_it() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["fmt", "--all", "--", "--check", "-l"])
        .output()
        .expect("run cargo fmt");
    let files = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "not formatted (run `cargo fmt --all`):\n{files}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
