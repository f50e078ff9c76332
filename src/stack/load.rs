//! `stack::load`: read a stack file into a validated `StackDef`, or every problem
//! in it as located diagnostics.
//!
//! Three passes, each reporting all it finds: TOML syntax (one error, it stops
//! the parser), structure (each section, and each element of `[[regions]]`,
//! `[[tables]]`, `[[queues]]`, read on its own so a mistake in one does not hide
//! the others), then meaning (`stack::validate`) of every section that was read
//! (a check that needs a section whose structure was wrong is skipped). No AWS call.

use super::diag::{Diagnostic, Problem};
use super::fields::{help_for, SECTIONS};
use super::model::*;
use super::source_map::{location_in_text, FieldPath, Segment, SourceMap};
use super::validate::{validate_parts, Parts};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// Why a stack file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read stack file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has {} problem(s):\n{}", file, diagnostics.len(), render(diagnostics))]
    Invalid {
        file: String,
        diagnostics: Vec<Diagnostic>,
    },
}

impl LoadError {
    /// The located problems (empty for an I/O error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            LoadError::Io { .. } => &[],
            LoadError::Invalid { diagnostics, .. } => diagnostics,
        }
    }
}

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Read and validate the stack file at `path`.
pub fn load(path: &Path) -> Result<StackDef, LoadError> {
    let src = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(&src, &path.display().to_string())
}

/// Validate a stack definition given as text; `file` names it in diagnostics.
pub fn load_str(src: &str, file: &str) -> Result<StackDef, LoadError> {
    let invalid = |diagnostics| LoadError::Invalid {
        file: file.to_string(),
        diagnostics,
    };
    let map = match SourceMap::parse(src) {
        Ok(map) => map,
        Err(e) => return Err(invalid(vec![syntax_diagnostic(src, file, &e)])),
    };
    let table: toml::Table = match toml::from_str(src) {
        Ok(t) => t,
        Err(e) => {
            let loc = location_in_text(src, e.span().map(|s| s.start).unwrap_or(0));
            return Err(invalid(vec![Diagnostic {
                file: file.to_string(),
                line: loc.line,
                column: loc.column,
                path: String::new(),
                message: e.message().trim().to_string(),
                help: "see docs/stack-reference.md for the file format".to_string(),
            }]));
        }
    };
    let (sections, mut problems) = read_structure(table);
    problems.extend(validate_parts(&sections.parts()));
    match sections.into_def() {
        Some(def) if problems.is_empty() => Ok(def),
        _ => Err(invalid(locate(&map, file, problems))),
    }
}

/// Turn problems into diagnostics, in file order.
fn locate(map: &SourceMap, file: &str, problems: Vec<Problem>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| {
            let loc = map.locate(&p.path, p.target);
            Diagnostic {
                file: file.to_string(),
                line: loc.line,
                column: loc.column,
                path: p.path.to_string(),
                message: p.message,
                help: p.help,
            }
        })
        .collect();
    out.sort_by_key(|d| (d.line, d.column));
    out
}

fn syntax_diagnostic(src: &str, file: &str, e: &toml_edit::TomlError) -> Diagnostic {
    let loc = location_in_text(src, e.span().map(|s| s.start).unwrap_or(0));
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Diagnostic {
        file: file.to_string(),
        line: loc.line,
        column: loc.column,
        path: String::new(),
        message: format!("TOML syntax: {message}"),
        help: "see docs/stack-reference.md for the file format".to_string(),
    }
}

/// Every section as read: `None` where its structure was wrong.
struct Read {
    app: Option<App>,
    dns: Option<Dns>,
    regions: Option<Vec<Region>>,
    rollout: Option<Rollout>,
    compute: Option<Compute>,
    ami: Option<Ami>,
    tables: Option<Vec<Table>>,
    queues: Option<Vec<Queue>>,
    storage: Option<Storage>,
    edge: Option<Edge>,
    capacity: Option<CapacityModel>,
    alarms: Option<Alarms>,
    availability: Option<Availability>,
    policy: Option<Policy>,
    operations: Option<Operations>,
    cost: Option<CostUsage>,
    audit: Option<AuditThresholds>,
}

impl Read {
    fn parts(&self) -> Parts<'_> {
        Parts {
            app: self.app.as_ref(),
            dns: self.dns.as_ref(),
            regions: self.regions.as_deref(),
            rollout: self.rollout.as_ref(),
            compute: self.compute.as_ref(),
            ami: self.ami.as_ref(),
            tables: self.tables.as_deref(),
            queues: self.queues.as_deref(),
            storage: self.storage.as_ref(),
            edge: self.edge.as_ref(),
            capacity: self.capacity.as_ref(),
            alarms: self.alarms.as_ref(),
            availability: self.availability.as_ref(),
            policy: self.policy.as_ref(),
            operations: self.operations.as_ref(),
            cost: self.cost.as_ref(),
            audit: self.audit.as_ref(),
        }
    }

    /// The definition, if every section was read.
    fn into_def(self) -> Option<StackDef> {
        Some(StackDef {
            app: self.app?,
            dns: self.dns?,
            regions: self.regions?,
            rollout: self.rollout?,
            compute: self.compute?,
            ami: self.ami?,
            tables: self.tables?,
            queues: self.queues?,
            storage: self.storage?,
            edge: self.edge?,
            capacity: self.capacity?,
            alarms: self.alarms?,
            availability: self.availability?,
            policy: self.policy?,
            operations: self.operations?,
            cost: self.cost?,
            audit: self.audit?,
        })
    }
}

/// Read every section on its own, recording each structural problem.
fn read_structure(mut table: toml::Table) -> (Read, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut sections = Sections {
        table: &mut table,
        problems: &mut problems,
    };
    let read = Read {
        app: sections.required("app"),
        dns: sections.required("dns"),
        regions: sections.array("regions", true),
        rollout: sections.required("rollout"),
        compute: sections.required("compute"),
        ami: sections.required("ami"),
        tables: sections.array("tables", false),
        queues: sections.array("queues", false),
        storage: sections.optional("storage"),
        edge: sections.optional("edge"),
        capacity: sections.required("capacity"),
        alarms: sections.optional("alarms"),
        availability: sections.optional("availability"),
        policy: sections.optional("policy"),
        operations: sections.optional("operations"),
        cost: sections.optional("cost"),
        audit: sections.optional("audit"),
    };
    for key in table.keys() {
        problems.push(Problem::key(
            FieldPath::root().key(key),
            format!("unknown section `{key}`"),
            format!("allowed sections: {SECTIONS}"),
        ));
    }
    (read, problems)
}

/// Takes sections out of the top-level table, recording problems as it goes.
struct Sections<'a> {
    table: &'a mut toml::Table,
    problems: &'a mut Vec<Problem>,
}

impl Sections<'_> {
    fn required<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let path = FieldPath::root().key(key);
        match self.table.remove(key) {
            Some(value) => self.read(value, &path),
            None => {
                self.problems.push(Problem::value(
                    FieldPath::root(),
                    format!("missing section [{key}]"),
                    help_for(&path).unwrap_or(""),
                ));
                None
            }
        }
    }

    fn optional<T: DeserializeOwned + Default>(&mut self, key: &str) -> Option<T> {
        let path = FieldPath::root().key(key);
        match self.table.remove(key) {
            Some(value) => self.read(value, &path),
            None => Some(T::default()),
        }
    }

    fn array<T: DeserializeOwned>(&mut self, key: &str, required: bool) -> Option<Vec<T>> {
        let path = FieldPath::root().key(key);
        let value = match self.table.remove(key) {
            Some(value) => value,
            None if required => {
                self.problems.push(Problem::value(
                    FieldPath::root(),
                    format!("missing [[{key}]]"),
                    help_for(&path).unwrap_or(""),
                ));
                return None;
            }
            None => return Some(Vec::new()),
        };
        let toml::Value::Array(items) = value else {
            self.problems.push(Problem::value(
                path,
                format!("`{key}` must be an array of tables, written [[{key}]]"),
                help_for(&FieldPath::root().key(key)).unwrap_or(""),
            ));
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.into_iter().enumerate() {
            match self.read(item, &path.index(i)) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn read<T: DeserializeOwned>(&mut self, value: toml::Value, base: &FieldPath) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let inner = base.join(&convert_path(e.path()));
                self.problems
                    .push(structural_problem(inner, e.inner().message()));
                None
            }
        }
    }
}

fn convert_path(path: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment as S;
    FieldPath(
        path.iter()
            .filter_map(|s| match s {
                S::Seq { index } => Some(Segment::Index(*index)),
                S::Map { key } => Some(Segment::Key(key.clone())),
                S::Enum { .. } | S::Unknown => None,
            })
            .collect(),
    )
}

/// Rephrase a serde error into what is wrong and what is allowed.
fn structural_problem(path: FieldPath, raw: &str) -> Problem {
    let raw = raw.trim();
    let field_help = help_for(&path).unwrap_or("").to_string();
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        let (name, expected) = split_expected(rest);
        let parent = FieldPath(path.0[..path.0.len().saturating_sub(1)].to_vec());
        let help = match expected {
            Some(list) => format!("allowed in [{parent}]: {list}"),
            None => format!("[{parent}] takes no fields"),
        };
        return Problem::key(path, format!("unknown field {name}"), help);
    }
    if let Some(rest) = raw.strip_prefix("missing field ") {
        let missing = rest.trim_matches('`');
        let help = help_for(&path.key(missing))
            .map(|h| format!("`{missing}` is required: {h}"))
            .unwrap_or_else(|| format!("`{missing}` is required"));
        return Problem::value(path, format!("missing field `{missing}`"), help);
    }
    if let Some(rest) = raw.strip_prefix("unknown variant ") {
        let (name, expected) = split_expected(rest);
        let help = expected
            .map(|l| format!("allowed: {l}"))
            .unwrap_or(field_help);
        return Problem::value(path, format!("{name} is not an allowed value"), help);
    }
    if let Some(rest) = raw.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let expected = plain_type(expected);
        let help = if field_help.is_empty() {
            expected.clone()
        } else {
            field_help
        };
        return Problem::value(path, format!("expected {expected}, found {found}"), help);
    }
    if let Some(rest) = raw.strip_prefix("invalid value: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let help = if field_help.is_empty() {
            plain_type(expected)
        } else {
            field_help
        };
        return Problem::value(path, format!("{found} is out of range"), help);
    }
    Problem::value(path, raw.to_string(), field_help)
}

/// "`x`, expected one of `a`, `b`" -> ("`x`", Some("`a`, `b`")).
fn split_expected(rest: &str) -> (&str, Option<String>) {
    match rest.split_once(", expected ") {
        Some((name, list)) => {
            let list = list.strip_prefix("one of ").unwrap_or(list);
            (name, Some(list.to_string()))
        }
        None => match rest.split_once(", there are no fields") {
            Some((name, _)) => (name, None),
            None => (rest, None),
        },
    }
}

fn plain_type(expected: &str) -> String {
    let e = expected.trim();
    let plain = match e {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number",
        "i8" | "i16" | "i32" | "i64" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" => "a string",
        "a sequence" => "an array",
        "a borrowed string" => "a string",
        "a map" => "a table",
        _ if e.starts_with("struct ") => "a table",
        _ if e.starts_with("enum ") => "a string",
        _ => return e.to_string(),
    };
    plain.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::source_map::Target;

    #[test]
    fn plain_types_read_like_a_user_would_say_them() {
        assert_eq!(plain_type("u32"), "a whole number");
        assert_eq!(plain_type("struct Capacity"), "a table");
        assert_eq!(plain_type("a sequence"), "an array");
    }

    #[test]
    fn unknown_field_points_at_the_key_and_lists_what_is_allowed() {
        let p = structural_problem(
            FieldPath::parse("app.nme"),
            "unknown field `nme`, expected one of `name`, `environment`, `production`",
        );
        assert_eq!(p.target, Target::Key);
        assert_eq!(p.message, "unknown field `nme`");
        assert_eq!(
            p.help,
            "allowed in [app]: `name`, `environment`, `production`"
        );
    }

    fn example(name: &str) -> StackDef {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("stacks")
            .join(name);
        load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The seeds' N+1 rule: lose the largest region, and in each remaining region
    /// its largest AZ (instances spread evenly: it holds ceil(max / azs)); the
    /// remaining max capacity must still carry peak load.
    fn survives_n_plus_one(def: &StackDef) -> bool {
        let after_az_loss: Vec<u64> = def
            .regions
            .iter()
            .map(|r| {
                let max = u64::from(def.capacity_of(r).max);
                let azs = r.azs.len() as u64;
                max - max.div_ceil(azs)
            })
            .collect();
        let largest = def
            .regions
            .iter()
            .map(|r| def.capacity_of(r).max)
            .max()
            .unwrap_or(0);
        let lost = def
            .regions
            .iter()
            .position(|r| def.capacity_of(r).max == largest)
            .unwrap_or(0);
        let remaining: u64 = after_az_loss
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != lost)
            .map(|(_, n)| n)
            .sum();
        remaining * u64::from(def.capacity.rps_per_instance) >= u64::from(def.capacity.peak_rps)
    }

    #[test]
    fn example_stacks_load_and_pass_n_plus_one() {
        for name in ["example.toml", "staging.toml", "four-region.toml"] {
            let def = example(name);
            assert!(survives_n_plus_one(&def), "{name} fails N+1");
        }
    }

    #[test]
    fn example_is_the_whole_system_of_the_brief() {
        let def = example("example.toml");
        let names: Vec<&str> = def.regions.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["us-east-1", "us-west-2", "eu-west-1"]);
        assert!(def.regions.iter().all(|r| r.azs.len() == 2));
        assert_eq!(def.regions[0].failover, Some(FailoverRole::Primary));
        assert_eq!(def.rollout.waves().len(), 3);
        assert_eq!(
            def.rollout.bake_duration().unwrap(),
            std::time::Duration::from_secs(60)
        );
        assert!(def.dns.manage_zone && def.edge.cloudfront && def.storage.replication);
        assert!(def.tables[0].global && def.tables[0].sort_key.is_some());
        assert_eq!(def.queues.len(), 1);
        assert_eq!(def.compute.capacity.desired, 2);
    }

    #[test]
    fn four_region_keeps_waves_and_overrides() {
        let def = example("four-region.toml");
        assert_eq!(def.regions.len(), 4);
        assert!(def.regions.iter().all(|r| r.azs.len() == 3));
        assert_eq!(def.rollout.waves()[2], ["eu-west-1", "eu-central-1"]);
        let eu = def.region("eu-west-1").unwrap();
        assert_eq!(def.capacity_of(eu).max, 9);
        assert_eq!(def.capacity_of(&def.regions[0]).max, 6);
    }

    #[test]
    fn a_definition_failing_n_plus_one_is_detected_by_the_helper() {
        let mut def = example("example.toml");
        def.capacity.peak_rps = 401;
        assert!(!survives_n_plus_one(&def));
    }

    #[test]
    fn load_str_labels_diagnostics_with_the_given_name() {
        let err = load_str("[app]\nname = 1\n", "inline.toml").unwrap_err();
        let diags = err.diagnostics();
        assert!(diags.iter().all(|d| d.file == "inline.toml"));
        assert!(diags
            .iter()
            .any(|d| d.path == "app.name" && d.line == 2 && d.column == 8));
        assert!(err.to_string().starts_with("inline.toml has "));
    }

    #[test]
    fn io_errors_name_the_file() {
        let err = load(Path::new("/nonexistent/stack.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/stack.toml"));
        assert!(err.diagnostics().is_empty());
    }
}
