//! `strata synth`: load a stack file, synthesize its templates, write them to a
//! directory (`<stack>-<region>.template.json` per region, `<stack>-global…`,
//! `<stack>-dns…` for a managed zone) and say what was written.

use super::validate::load_stack;
use super::{Failure, Outcome};
use crate::cli::args::{GlobalArgs, OutputFormat, SynthArgs};
use std::path::{Path, PathBuf};
use strata::exit_code;
use strata::synth::{self, Phase};

pub async fn run(global: &GlobalArgs, args: SynthArgs) -> Outcome {
    let def = load_stack(global, &args.file)?;
    let phase: Phase = args
        .phase
        .parse()
        .map_err(|e: String| Failure::new(exit_code::INVALID_INPUT, e))?;
    let out = synth::try_synthesize(&def, phase).map_err(|e| {
        Failure::new(
            exit_code::INVALID_INPUT,
            format!("{}: {e}", args.file.display()),
        )
    })?;
    std::fs::create_dir_all(&args.out).map_err(|e| write_failure(&args.out, e))?;

    let stack = def.stack_name();
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for r in &out.regions {
        let path = args.out.join(format!("{stack}-{}.template.json", r.region));
        write(&path, &r.template.to_json_pretty())?;
        files.push((r.stack_name.clone(), path));
    }
    if let Some(global_template) = &out.global {
        let path = args.out.join(format!("{stack}-global.template.json"));
        write(&path, &global_template.to_json_pretty())?;
        files.push((def.global_stack_name(), path));
    }
    if let Some(zone) = &out.zone {
        let path = args.out.join(format!("{stack}-dns.template.json"));
        write(&path, &zone.to_json_pretty())?;
        files.push((synth::zone_stack_name(&def), path));
    }

    match global.output {
        OutputFormat::Json => {
            let written: Vec<_> = files
                .iter()
                .map(|(s, p)| serde_json::json!({ "stack": s, "file": p.display().to_string() }))
                .collect();
            println!(
                "{}",
                serde_json::json!({ "phase": phase.as_str(), "templates": written })
            );
        }
        OutputFormat::Human => {
            for (stack_name, path) in &files {
                println!("wrote {} ({stack_name})", path.display());
            }
            println!(
                "{} template(s), {} phase, in {}",
                files.len(),
                phase.as_str(),
                args.out.display()
            );
        }
    }
    Ok(exit_code::SUCCESS)
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| write_failure(path, e))
}

fn write_failure(path: &Path, e: std::io::Error) -> Failure {
    Failure::new(
        exit_code::ENVIRONMENT,
        format!("cannot write {}: {e}", path.display()),
    )
}
