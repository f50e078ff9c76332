//! The checked-in generated code is exactly what `cargo xtask codegen` produces from
//! the vendored schemas: regenerated in memory and compared file by file.

use xtask::codegen;

#[test]
fn generated_code_is_up_to_date() {
    let root = codegen::workspace_root();
    let files = codegen::generate(&root).expect("codegen runs");
    let stale = codegen::stale_files(&root, &files).expect("generated dir readable");
    assert!(
        stale.is_empty(),
        "generated code is stale: run `cargo xtask codegen` (differs: {})",
        stale
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[test]
fn every_generated_file_carries_the_header() {
    let root = codegen::workspace_root();
    for f in codegen::generate(&root).expect("codegen runs") {
        assert!(
            f.contents.starts_with(codegen::HEADER),
            "{} lacks the do-not-edit header",
            f.path.display()
        );
    }
}

#[test]
fn generation_is_deterministic_and_rustfmt_stable() {
    let root = codegen::workspace_root();
    let a = codegen::generate(&root).expect("codegen runs");
    let b = codegen::generate(&root).expect("codegen runs");
    assert_eq!(a, b);
    for f in &a {
        let again = codegen::rustfmt(&f.contents, &root).expect("rustfmt runs");
        assert_eq!(
            again,
            f.contents,
            "{} is not rustfmt-stable",
            f.path.display()
        );
    }
}
