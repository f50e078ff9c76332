//! Shell completions and the man page come from the CLI definition itself.

mod support;

#[test]
fn completion_scripts_know_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = support::cli::run(support::cli::command().args(["completions", shell]));
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for sub in [
            "validate", "synth", "plan", "deploy", "rollback", "status", "unlock", "sandbox",
        ] {
            assert!(run.stdout.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let run = support::cli::run(support::cli::command().args(["completions", "tcsh"]));
    assert_eq!(run.code, 2, "an unknown shell is a usage error");
}

#[test]
fn man_page_is_roff_with_the_exit_codes() {
    let run = support::cli::run(support::cli::command().arg("man"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(".ie") || run.stdout.contains(".TH strata"),
        "not roff"
    );
    assert!(
        run.stdout.contains("Exit codes"),
        "the man page documents exit codes"
    );
    assert!(run.stdout.contains("deploy"));
}

#[test]
fn help_documents_exit_codes() {
    let run = support::cli::run(support::cli::command().arg("--help"));
    assert_eq!(run.code, 0);
    for line in [
        "0    success",
        "2    invalid input",
        "3    policy violation",
        "5    the stack's deploy lock",
    ] {
        assert!(run.stdout.contains(line), "--help lacks {line:?}");
    }
}
