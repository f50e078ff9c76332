//! The `strata` binary: parse the command line, run one command, exit with its code.

mod cli;

/// The policy engine allocates heavily; mimalloc makes `strata check` markedly
/// faster than the system allocator (see README, Speed).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() {
    let cli = cli::args::Cli::parse();
    let json = cli.global.output == cli::args::OutputFormat::Json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(strata::exit_code::ENVIRONMENT);
        }
    };
    let code = match runtime.block_on(cli::commands::run(cli)) {
        Ok(code) => code,
        Err(failure) => {
            // With --output json the error is a JSON line on stdout too, so a
            // pipeline reading stdout sees why the command failed.
            if json && !failure.json_reported {
                println!(
                    "{}",
                    serde_json::json!({
                        "error": { "exit_code": failure.code, "message": failure.message }
                    })
                );
            }
            eprintln!("error: {}", failure.message);
            failure.code
        }
    };
    drop(runtime);
    std::process::exit(code);
}
