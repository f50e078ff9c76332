//! Source map of a stack file: resolves a field path like `regions[1].cidr` to the
//! line and column where it is written, from the spans `toml_edit` keeps.

use std::fmt;
use std::ops::Range;
use toml_edit::{ImDocument, Item, Table, TableLike, Value};

/// One step of a field path: a key of a table or an index into an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A field path such as `regions[1].cidr`, as written by validation and by
/// `serde_path_to_error`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// Parse `a.b[2].c`. Keys are bare words (the only ones a stack file uses).
    pub fn parse(text: &str) -> Self {
        let mut segments = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(open) = rest.find('[') {
                let key = &rest[..open];
                if !key.is_empty() {
                    segments.push(Segment::Key(key.to_string()));
                }
                rest = &rest[open..];
                while let Some(stripped) = rest.strip_prefix('[') {
                    let close = stripped.find(']').unwrap_or(stripped.len());
                    if let Ok(i) = stripped[..close].parse() {
                        segments.push(Segment::Index(i));
                    }
                    rest = stripped.get(close + 1..).unwrap_or("");
                }
            } else {
                segments.push(Segment::Key(rest.to_string()));
            }
        }
        FieldPath(segments)
    }

    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }

    /// Append another path (e.g. a path inside one section to the section's path).
    pub fn join(&self, other: &FieldPath) -> Self {
        let mut p = self.clone();
        p.0.extend(other.0.iter().cloned());
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if n == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// Which part of a `key = value` pair to point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The value (for "this value is wrong").
    Value,
    /// The key (for "this key should not be here").
    Key,
}

/// A parsed stack file with its spans.
pub struct SourceMap {
    src: String,
    doc: ImDocument<String>,
    line_starts: Vec<usize>,
}

impl SourceMap {
    /// Parse the file. A syntax error is returned as is (it carries its own span).
    pub fn parse(src: &str) -> Result<Self, toml_edit::TomlError> {
        let doc = ImDocument::parse(src.to_string())?;
        Ok(SourceMap {
            src: src.to_string(),
            doc,
            line_starts: line_starts(src),
        })
    }

    /// The parsed document.
    pub fn document(&self) -> &ImDocument<String> {
        &self.doc
    }

    /// Where `path` is written. A path that is not written (a default, a missing
    /// field) resolves to the deepest enclosing part that is; the root is 1:1.
    pub fn locate(&self, path: &FieldPath, target: Target) -> Location {
        let span = self.span_of(path, target).unwrap_or(0..0);
        self.location_of(span.start)
    }

    /// The 1-based line and column of a byte offset.
    pub fn location_of(&self, offset: usize) -> Location {
        location_in(&self.src, &self.line_starts, offset)
    }

    fn span_of(&self, path: &FieldPath, target: Target) -> Option<Range<usize>> {
        let mut best: Option<Range<usize>> = None;
        let mut node = Node::Table(self.doc.as_table());
        let last = path.0.len().saturating_sub(1);
        for (n, seg) in path.0.iter().enumerate() {
            let (next, key_span) = match (node, seg) {
                (Node::Table(t), Segment::Key(k)) => child_of_table(t, k),
                (Node::Item(item), Segment::Key(k)) => match item.as_table_like() {
                    Some(t) => child_of_table(t, k),
                    None => (None, None),
                },
                (Node::Item(item), Segment::Index(i)) => (index_item(item, *i), None),
                (Node::Value(Value::Array(a)), Segment::Index(i)) => {
                    (a.get(*i).map(Node::Value), None)
                }
                (Node::Value(Value::InlineTable(t)), Segment::Key(k)) => child_of_table(t, k),
                _ => (None, None),
            };
            let Some(next) = next else { break };
            let span = if n == last && target == Target::Key && key_span.is_some() {
                key_span
            } else {
                next.span().or(key_span)
            };
            if span.is_some() {
                best = span;
            }
            node = next;
        }
        best
    }
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Item(&'a Item),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn span(&self) -> Option<Range<usize>> {
        match self {
            Node::Table(t) => t.span(),
            Node::Item(i) => i.span(),
            Node::Value(v) => v.span(),
        }
    }
}

fn child_of_table<'a, T: TableLike + ?Sized>(
    table: &'a T,
    key: &str,
) -> (Option<Node<'a>>, Option<Range<usize>>) {
    match table.get_key_value(key) {
        Some((k, item)) => (Some(Node::Item(item)), k.span()),
        None => (None, None),
    }
}

fn index_item(item: &Item, i: usize) -> Option<Node<'_>> {
    match item {
        Item::ArrayOfTables(a) => a.get(i).map(Node::Table),
        Item::Value(Value::Array(a)) => a.get(i).map(Node::Value),
        _ => None,
    }
}

fn line_starts(src: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(src.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn location_in(src: &str, starts: &[usize], offset: usize) -> Location {
    let offset = offset.min(src.len());
    let line_index = match starts.binary_search(&offset) {
        Ok(i) => i,
        Err(i) => i - 1,
    };
    let start = starts[line_index];
    let column = src
        .get(start..offset)
        .map(|s| s.chars().count())
        .unwrap_or(offset - start);
    Location {
        line: line_index + 1,
        column: column + 1,
    }
}

/// The location of a byte offset in a text that did not parse.
pub fn location_in_text(src: &str, offset: usize) -> Location {
    location_in(src, &line_starts(src), offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"# a stack
[app]
name = "shop"
environment = "prod"

[[regions]]
name = "us-east-1"
cidr = "10.0.0.0/16"
azs = ["us-east-1a", "us-east-1b"]

[[regions]]
name = "us-west-2"
cidr = "10.1.0.0/16"
azs = ["us-west-2a", "us-west-2b"]
capacity = { min = 1, desired = 2, max = 3 }

[rollout]
waves = [["us-east-1"], ["us-west-2"]]
"#;

    fn at(path: &str, target: Target) -> (usize, usize) {
        let map = SourceMap::parse(SRC).unwrap();
        let loc = map.locate(&FieldPath::parse(path), target);
        (loc.line, loc.column)
    }

    #[test]
    fn path_round_trips_through_text() {
        let p = FieldPath::parse("regions[1].azs[0]");
        assert_eq!(
            p.0,
            vec![
                Segment::Key("regions".into()),
                Segment::Index(1),
                Segment::Key("azs".into()),
                Segment::Index(0)
            ]
        );
        assert_eq!(p.to_string(), "regions[1].azs[0]");
        assert_eq!(
            FieldPath::parse("rollout.waves[1][0]").to_string(),
            "rollout.waves[1][0]"
        );
    }

    #[test]
    fn resolves_values_in_arrays_of_tables() {
        assert_eq!(at("regions[1].cidr", Target::Value), (13, 8));
        assert_eq!(at("regions[0].name", Target::Value), (7, 8));
        assert_eq!(at("regions[1].azs[1]", Target::Value), (14, 22));
    }

    #[test]
    fn resolves_keys_when_asked() {
        assert_eq!(at("regions[1].cidr", Target::Key), (13, 1));
        assert_eq!(at("app.environment", Target::Key), (4, 1));
    }

    #[test]
    fn resolves_inside_inline_tables_and_nested_arrays() {
        assert_eq!(at("regions[1].capacity.max", Target::Value), (15, 42));
        assert_eq!(at("rollout.waves[1][0]", Target::Value), (18, 26));
    }

    #[test]
    fn unwritten_paths_fall_back_to_the_enclosing_part() {
        // `regions[0].failover` is not written: the region's table is the answer.
        let (line, _) = at("regions[0].failover", Target::Value);
        assert_eq!(line, 6);
        assert_eq!(at("nothing.here", Target::Value), (1, 1));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let src = "name = \"é\" \nx = 1\n";
        // The closing quote is at byte 10: column 10 (counting bytes would say 11).
        assert_eq!(
            location_in_text(src, 10),
            Location {
                line: 1,
                column: 10
            }
        );
        assert_eq!(location_in_text(src, 13), Location { line: 2, column: 1 });
        let map = SourceMap::parse("a = \"é\"\nb = 2\n").unwrap();
        let loc = map.locate(&FieldPath::parse("b"), Target::Value);
        assert_eq!((loc.line, loc.column), (2, 5));
    }
}
