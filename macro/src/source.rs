//! Reading a template file as users write it: YAML (with CloudFormation's short-form tags) or
//! JSON, into the JSON CloudFormation hands the macro, with the line and column of every node so
//! problems can point at the file, and with bounds so a hostile or broken file fails fast, in
//! memory proportional to its size.
//!
//! Bounds follow CloudFormation's own: a template body from S3 is at most 1 MB (ValidateTemplate
//! / CreateStack `TemplateURL`, "max size: 1 MB", CloudFormation API Reference), and so is the
//! processed template, which CloudFormation hands a macro as JSON ("Troubleshoot the processed
//! template", CloudFormation User Guide). A file past that, or whose YAML aliases expand past
//! it, could never deploy and is refused here with the limit it broke. Duplicate keys are
//! refused: the user guide's template-formats page says a template with duplicate sections has
//! undefined behaviour, and a JSON object can only keep one of them.

use crate::error::Problem;
use serde_json::{Map, Number, Value};
use std::fmt;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// CloudFormation's largest template body (uploaded to S3): 1 MB.
pub const MAX_TEMPLATE_BYTES: usize = 1024 * 1024;
/// Deepest nesting of lists and maps. The macro Lambda reads CloudFormation's JSON with
/// serde_json, which stops at 128 levels, and the event wraps the template in two more; a
/// template nested deeper than this could not reach the macro in AWS either.
pub const MAX_DEPTH: usize = 100;

/// A line and column (both from 1; the column counts characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Where each node of the template starts, shaped like the template. A map entry keeps the
/// position of its key, which is where an editor should jump for a property.
#[derive(Debug, Clone, PartialEq)]
pub enum PosTree {
    Leaf(Pos),
    Seq(Pos, Vec<PosTree>),
    Map(Pos, Vec<(String, Pos, PosTree)>),
}

impl PosTree {
    fn pos(&self) -> Pos {
        match self {
            PosTree::Leaf(p) | PosTree::Seq(p, _) | PosTree::Map(p, _) => *p,
        }
    }

    /// The position of a property path as problems render it (`Properties.Network.Subnets[1]`),
    /// or of the nearest enclosing node the file has (a missing property points at its parent;
    /// a path inside a short-form tag points at the tag).
    pub fn find(&self, path: &str) -> Pos {
        let mut node = self;
        let mut at = node.pos();
        let mut rest = path;
        loop {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            if rest.is_empty() {
                return at;
            }
            let next = match node {
                PosTree::Map(_, entries) => entries
                    .iter()
                    .filter_map(|(k, kp, v)| {
                        let fits = |shown: &str| {
                            rest.strip_prefix(shown)
                                .is_some_and(|r| r.is_empty() || r.starts_with(['.', '[']))
                                .then_some((shown.len(), *kp, v))
                        };
                        // Messages show long keys shortened (`reader::path`).
                        fits(k).or_else(|| {
                            (k.len() > crate::reader::MAX_SHOWN_KEY)
                                .then(|| fits(&crate::reader::short_key(k)))
                                .flatten()
                        })
                    })
                    .max_by_key(|(len, _, _)| *len),
                PosTree::Seq(_, items) => rest
                    .strip_prefix('[')
                    .and_then(|r| r.split_once(']'))
                    .and_then(|(i, _)| Some((i, items.get(i.parse::<usize>().ok()?)?)))
                    .map(|(i, v)| (i.len() + 2, v.pos(), v)),
                PosTree::Leaf(_) => None,
            };
            match next {
                Some((len, p, v)) => {
                    rest = &rest[len..];
                    at = p;
                    node = v;
                }
                None => return at,
            }
        }
    }

    /// Where a problem of the expansion is in the source template.
    pub fn locate(&self, problem: &Problem) -> Pos {
        match problem {
            Problem::Property {
                logical_id, path, ..
            } if path.is_empty() => self.find(&format!("Resources.{logical_id}")),
            Problem::Property {
                logical_id, path, ..
            } => self.find(&format!("Resources.{logical_id}.{path}")),
            Problem::Template { path, .. } => self.find(path),
        }
    }
}

/// A parsed template and where its nodes are.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub value: Value,
    pub positions: PosTree,
}

/// The kinds of problem a file can have before its content is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceErrorKind {
    Syntax,
    TooLarge,
    AliasExpansion,
    TooDeep,
    DuplicateKey,
    Unsupported,
}

/// A problem with the file itself, at a position when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub kind: SourceErrorKind,
    pub pos: Option<Pos>,
    pub message: String,
}

impl SourceError {
    fn new(kind: SourceErrorKind, pos: Option<Pos>, message: impl Into<String>) -> Self {
        SourceError {
            kind,
            pos,
            message: message.into(),
        }
    }

    /// A stable code per kind, for CI annotations.
    pub fn code(&self) -> &'static str {
        match self.kind {
            SourceErrorKind::Syntax => "FA001",
            SourceErrorKind::TooLarge => "FA002",
            SourceErrorKind::AliasExpansion => "FA003",
            SourceErrorKind::TooDeep => "FA004",
            SourceErrorKind::DuplicateKey => "FA005",
            SourceErrorKind::Unsupported => "FA006",
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "line {} column {}: {}", p.line, p.col, self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for SourceError {}

/// Parses a template: JSON when it looks like JSON and parses as such (that is what the macro
/// receives), otherwise YAML.
pub fn parse(text: &str) -> Result<Source, SourceError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(SourceError::new(
            SourceErrorKind::TooLarge,
            None,
            format!(
                "the template is {} bytes; CloudFormation accepts at most {MAX_TEMPLATE_BYTES} (1 MB, from S3)",
                text.len()
            ),
        ));
    }
    if text.trim_start().starts_with('{') {
        match json_positions(text) {
            Ok(Some(positions)) => {
                if let Ok(value) = serde_json::from_str::<Value>(text) {
                    return Ok(Source { value, positions });
                }
            }
            Ok(None) => {}
            Err(e) => return Err(e),
        }
    }
    Yaml::new(text).read()
}

/// A template that declares more resources than a stack may hold (CloudFormation quotas:
/// 500 resources) cannot expand into fewer, since every App becomes at least one resource: it
/// is refused before expanding, so the work stays proportional to what could deploy. Used by
/// the CLI and the macro Lambda alike.
pub fn too_many_resources(template: &Value) -> Option<Problem> {
    let n = template.get("Resources")?.as_object()?.len();
    (n > crate::expand::MAX_RESOURCES).then(|| {
        Problem::template(
            "Resources",
            format!(
                "the template declares {n} resources; CloudFormation allows {} in a stack, and each Fargate::App becomes at least one",
                crate::expand::MAX_RESOURCES
            ),
        )
    })
}

fn marker_pos(m: &Marker) -> Pos {
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        col: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    }
}

/// A node being built: a list or a map waiting for its items.
enum Open {
    Seq {
        items: Vec<Value>,
        pos: Vec<PosTree>,
    },
    Map {
        entries: Map<String, Value>,
        pos: Vec<(String, Pos, PosTree)>,
        key: Option<(String, Pos)>,
    },
}

struct Frame {
    open: Open,
    at: Pos,
    anchor: usize,
    tag: Option<Tag>,
    /// `Yaml::weight` when the node started, to weigh it for its aliases.
    weight_before: usize,
}

/// The YAML reader: yaml-rust2's event parser (which keeps positions and needs no recursion),
/// and a tree built here so aliases, depth and duplicate keys can be bounded as they come.
struct Yaml<'t> {
    parser: Parser<std::str::Chars<'t>>,
    stack: Vec<Frame>,
    /// Nodes by anchor ID, with their weight.
    anchors: Vec<Option<(Value, usize)>>,
    /// A rough size of what is held in memory: scalar bytes plus one per node, counting each
    /// alias at its anchor's size and each anchor's copy. Without anchors it is at most the
    /// file's size.
    weight: usize,
}

impl<'t> Yaml<'t> {
    fn new(text: &'t str) -> Self {
        Yaml {
            parser: Parser::new_from_str(text),
            stack: Vec::new(),
            anchors: Vec::new(),
            weight: 0,
        }
    }

    fn read(mut self) -> Result<Source, SourceError> {
        let mut root: Option<(Value, PosTree)> = None;
        let mut documents = 0;
        loop {
            let (event, mark) = self.parser.next_token().map_err(|e| {
                // yaml-rust2 stops flow collections at 255 levels, before this reader sees them.
                if e.info() == "recursion limit exceeded" {
                    return too_deep(marker_pos(e.marker()));
                }
                SourceError::new(
                    SourceErrorKind::Syntax,
                    Some(marker_pos(e.marker())),
                    format!("not a valid YAML or JSON template: {}", e.info()),
                )
            })?;
            let at = marker_pos(&mark);
            let done = match event {
                Event::StreamEnd => break,
                Event::DocumentStart => {
                    documents += 1;
                    if documents > 1 {
                        return Err(SourceError::new(
                            SourceErrorKind::Unsupported,
                            Some(at),
                            "more than one YAML document; a template is one document",
                        ));
                    }
                    None
                }
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => None,
                Event::Scalar(text, style, anchor, tag) => {
                    let w = text.len() + 1;
                    self.grow(w, at)?;
                    let v = scalar(text, style, tag.as_ref(), at)?;
                    let v = short_form(v, tag.as_ref(), at)?;
                    self.remember(anchor, &v, w, at)?;
                    Some((v, PosTree::Leaf(at)))
                }
                Event::Alias(id) => {
                    let Some(Some((_, w))) = self.anchors.get(id) else {
                        return Err(SourceError::new(
                            SourceErrorKind::Syntax,
                            Some(at),
                            "alias to an unknown anchor",
                        ));
                    };
                    // Weigh before copying, so a copy past the bound is never made.
                    self.grow(*w, at)?;
                    let v = self.anchors[id].as_ref().map(|(v, _)| v.clone());
                    Some((v.unwrap_or_default(), PosTree::Leaf(at)))
                }
                Event::SequenceStart(anchor, tag) => {
                    self.open(
                        Open::Seq {
                            items: Vec::new(),
                            pos: Vec::new(),
                        },
                        at,
                        anchor,
                        tag,
                    )?;
                    None
                }
                Event::MappingStart(anchor, tag) => {
                    self.open(
                        Open::Map {
                            entries: Map::new(),
                            pos: Vec::new(),
                            key: None,
                        },
                        at,
                        anchor,
                        tag,
                    )?;
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let f = self
                        .stack
                        .pop()
                        .expect("the parser balances starts and ends");
                    let (v, p) = match f.open {
                        Open::Seq { items, pos } => (Value::Array(items), PosTree::Seq(f.at, pos)),
                        Open::Map { entries, pos, .. } => {
                            // yaml-rust2 marks a block map at its first colon; its first key
                            // is where it starts.
                            let at = pos.first().map_or(f.at, |e| e.1.min(f.at));
                            (Value::Object(entries), PosTree::Map(at, pos))
                        }
                    };
                    let v = short_form(v, f.tag.as_ref(), f.at)?;
                    let w = self.weight - f.weight_before;
                    self.remember(f.anchor, &v, w, f.at)?;
                    Some((v, p))
                }
            };
            if let Some((v, p)) = done {
                match self.stack.last_mut() {
                    None => root = Some((v, p)),
                    Some(parent) => add(parent, v, p)?,
                }
            }
        }
        let (value, positions) =
            root.unwrap_or((Value::Null, PosTree::Leaf(Pos { line: 1, col: 1 })));
        Ok(Source { value, positions })
    }

    /// Counts a node towards the expanded size, refusing an alias fan-out past the bound.
    fn grow(&mut self, by: usize, at: Pos) -> Result<(), SourceError> {
        self.weight = self.weight.saturating_add(by);
        if self.weight > MAX_TEMPLATE_BYTES {
            return Err(SourceError::new(
                SourceErrorKind::AliasExpansion,
                Some(at),
                format!("with its aliases expanded, the template is larger than {MAX_TEMPLATE_BYTES} bytes (1 MB, CloudFormation's template limit)"),
            ));
        }
        Ok(())
    }

    fn open(
        &mut self,
        open: Open,
        at: Pos,
        anchor: usize,
        tag: Option<Tag>,
    ) -> Result<(), SourceError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(too_deep(at));
        }
        self.grow(1, at)?;
        self.stack.push(Frame {
            open,
            at,
            anchor,
            tag,
            weight_before: self.weight - 1,
        });
        Ok(())
    }

    /// Keeps a copy of an anchored node for its aliases; the copy counts towards the bound too.
    fn remember(
        &mut self,
        anchor: usize,
        v: &Value,
        weight: usize,
        at: Pos,
    ) -> Result<(), SourceError> {
        // yaml-rust2 numbers anchors from 1; 0 means none.
        if anchor == 0 {
            return Ok(());
        }
        self.grow(weight, at)?;
        if self.anchors.len() <= anchor {
            self.anchors.resize(anchor + 1, None);
        }
        self.anchors[anchor] = Some((v.clone(), weight));
        Ok(())
    }
}

/// Adds a finished node to the list or map being built.
fn add(parent: &mut Frame, v: Value, p: PosTree) -> Result<(), SourceError> {
    match &mut parent.open {
        Open::Seq { items, pos } => {
            items.push(v);
            pos.push(p);
        }
        Open::Map { entries, pos, key } => match key.take() {
            Some((k, kp)) => {
                entries.insert(k.clone(), v);
                pos.push((k, kp, p));
            }
            None => {
                let at = p.pos();
                let k = match v {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(SourceError::new(
                            SourceErrorKind::Unsupported,
                            Some(at),
                            format!(
                                "a map key must be a string, got {}",
                                crate::reader::show(&other)
                            ),
                        ))
                    }
                };
                if entries.contains_key(&k) {
                    let first = pos.iter().find(|(k2, _, _)| *k2 == k).map_or(at, |e| e.1);
                    return Err(duplicate(&k, at, first));
                }
                *key = Some((k, at));
            }
        },
    }
    Ok(())
}

fn too_deep(at: Pos) -> SourceError {
    SourceError::new(
        SourceErrorKind::TooDeep,
        Some(at),
        format!("lists and maps are nested more than {MAX_DEPTH} levels deep"),
    )
}

fn duplicate(key: &str, at: Pos, first: Pos) -> SourceError {
    SourceError::new(
        SourceErrorKind::DuplicateKey,
        Some(at),
        format!(
            "duplicate key '{}' (first at line {} column {}); CloudFormation would keep only one of them",
            crate::reader::short_key(key),
            first.line,
            first.col
        ),
    )
}

/// A scalar as YAML 1.2's core schema reads it (the resolution serde_yaml_ng used here before):
/// plain `null`/`~`/empty, booleans, integers (also 0x, 0o, 0b), floats; quoted text is a string.
fn scalar(
    text: String,
    style: TScalarStyle,
    tag: Option<&Tag>,
    at: Pos,
) -> Result<Value, SourceError> {
    let core = tag.filter(|t| t.handle == "tag:yaml.org,2002:");
    if let Some(t) = core {
        return match t.suffix.as_str() {
            "str" => Ok(Value::String(text)),
            "null" | "bool" | "int" | "float" => Ok(resolve(text, at)?),
            other => Err(SourceError::new(
                SourceErrorKind::Unsupported,
                Some(at),
                format!("unsupported tag !!{other}"),
            )),
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text));
    }
    resolve(text, at)
}

fn resolve(text: String, at: Pos) -> Result<Value, SourceError> {
    let s = text.as_str();
    if matches!(s, "" | "null" | "Null" | "NULL" | "~") {
        return Ok(Value::Null);
    }
    match s {
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Some(n) = int(s) {
        return Ok(Value::Number(n));
    }
    if !leading_zero_digits(s) {
        if let Some(f) = float(s) {
            return Number::from_f64(f).map(Value::Number).ok_or_else(|| {
                SourceError::new(
                    SourceErrorKind::Unsupported,
                    Some(at),
                    format!("number {s} cannot be represented in JSON"),
                )
            });
        }
    }
    Ok(Value::String(text))
}

/// `007` is a string in YAML 1.2, not a number.
fn leading_zero_digits(s: &str) -> bool {
    let d = s.strip_prefix(['-', '+']).unwrap_or(s);
    d.len() > 1 && d.starts_with('0') && d[1..].bytes().all(|b| b.is_ascii_digit())
}

fn int(s: &str) -> Option<Number> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body.starts_with(['+', '-']) || body.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b") {
        (2, d)
    } else if leading_zero_digits(body) {
        return None;
    } else {
        (10, body)
    };
    if digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if magnitude == 0 {
            return Some(Number::from(0u64));
        }
        let v = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Number::from(v))
    } else {
        Some(Number::from(magnitude))
    }
}

fn float(s: &str) -> Option<f64> {
    let body = match s.strip_prefix('+') {
        Some(b) if b.starts_with(['+', '-']) => return None,
        Some(b) => b,
        None => s,
    };
    match body {
        ".inf" | ".Inf" | ".INF" => Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Some(f64::NAN),
        // Text that overflows (`1e999`) stays a string.
        _ => body.parse::<f64>().ok().filter(|f| f.is_finite()),
    }
}

/// CloudFormation's short-form tags become the long form (`!Ref X` is `{"Ref": "X"}`).
fn short_form(v: Value, tag: Option<&Tag>, at: Pos) -> Result<Value, SourceError> {
    let Some(tag) = tag else { return Ok(v) };
    if tag.handle == "tag:yaml.org,2002:" {
        return match tag.suffix.as_str() {
            "str" | "null" | "bool" | "int" | "float" | "seq" | "map" => Ok(v),
            other => Err(unknown_tag(&format!("!!{other}"), at)),
        };
    }
    if tag.handle != "!" {
        return Err(unknown_tag(&format!("{}{}", tag.handle, tag.suffix), at));
    }
    let name = tag.suffix.as_str();
    let key = match name {
        "Ref" | "Condition" => name.to_string(),
        "GetAtt" => {
            // `!GetAtt A.B` (the first dot splits; the attribute may hold dots) or `!GetAtt [A, B]`.
            let v = match v {
                Value::String(s) => match s.split_once('.') {
                    Some((a, b)) => Value::Array(vec![a.into(), b.into()]),
                    None => {
                        return Err(SourceError::new(
                            SourceErrorKind::Syntax,
                            Some(at),
                            format!(
                                "!GetAtt {}: expected Resource.Attribute",
                                crate::reader::short_key(&s)
                            ),
                        ))
                    }
                },
                other => other,
            };
            return Ok(single("Fn::GetAtt", v));
        }
        "Base64" | "Cidr" | "FindInMap" | "GetAZs" | "ImportValue" | "Join" | "Select"
        | "Split" | "Sub" | "Transform" | "And" | "Equals" | "If" | "Not" | "Or" | "Length"
        | "ToJsonString" | "ForEach" => format!("Fn::{name}"),
        other => return Err(unknown_tag(&format!("!{other}"), at)),
    };
    Ok(single(&key, v))
}

fn unknown_tag(tag: &str, at: Pos) -> SourceError {
    SourceError::new(
        SourceErrorKind::Unsupported,
        Some(at),
        format!("unknown tag {}", crate::reader::short_key(tag)),
    )
}

fn single(key: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), v);
    Value::Object(m)
}

/// Positions, duplicate keys and depth of a JSON text, in one pass without recursion.
/// `Ok(None)` when the text is not well-formed JSON (the YAML reader then reports the error).
fn json_positions(text: &str) -> Result<Option<PosTree>, SourceError> {
    let b = text.as_bytes();
    let mut i = 0;
    let (mut line, mut col) = (1u32, 1u32);
    // Open containers, each with its children so far and, in a map, the key awaiting a value.
    enum J {
        Seq(Pos, Vec<PosTree>),
        Map(
            Pos,
            Vec<(String, Pos, PosTree)>,
            Option<(String, Pos)>,
            std::collections::HashSet<String>,
        ),
    }
    let mut stack: Vec<J> = Vec::new();
    let mut root = None;
    let advance = |i: &mut usize, line: &mut u32, col: &mut u32, n: usize| {
        for _ in 0..n {
            let c = b[*i];
            *i += 1;
            if c == b'\n' {
                *line += 1;
                *col = 1;
            } else if c & 0xC0 != 0x80 {
                *col += 1;
            }
        }
    };
    loop {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b',' | b':') {
            advance(&mut i, &mut line, &mut col, 1);
        }
        if i >= b.len() {
            break;
        }
        let at = Pos { line, col };
        let node = match b[i] {
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(at));
                }
                stack.push(if b[i] == b'{' {
                    J::Map(at, Vec::new(), None, Default::default())
                } else {
                    J::Seq(at, Vec::new())
                });
                advance(&mut i, &mut line, &mut col, 1);
                continue;
            }
            b'}' | b']' => {
                advance(&mut i, &mut line, &mut col, 1);
                match stack.pop() {
                    Some(J::Seq(p, items)) => PosTree::Seq(p, items),
                    Some(J::Map(p, entries, None, _)) => PosTree::Map(p, entries),
                    _ => return Ok(None),
                }
            }
            b'"' => {
                let start = i;
                let mut j = i + 1;
                let mut escaped = false;
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' {
                        escaped = true;
                        j += 1;
                    }
                    j += 1;
                }
                if j >= b.len() {
                    return Ok(None);
                }
                let raw = &text[start + 1..j];
                advance(&mut i, &mut line, &mut col, j + 1 - start);
                if let Some(J::Map(_, entries, key @ None, seen)) = stack.last_mut() {
                    let k = if escaped {
                        match serde_json::from_str::<String>(&text[start..=j]) {
                            Ok(k) => k,
                            Err(_) => return Ok(None),
                        }
                    } else {
                        raw.to_string()
                    };
                    if !seen.insert(k.clone()) {
                        let first = entries
                            .iter()
                            .find(|(k2, _, _)| *k2 == k)
                            .map_or(at, |e| e.1);
                        return Err(duplicate(&k, at, first));
                    }
                    *key = Some((k, at));
                    continue;
                }
                PosTree::Leaf(at)
            }
            _ => {
                while i < b.len()
                    && !matches!(
                        b[i],
                        b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b'}' | b']'
                    )
                {
                    advance(&mut i, &mut line, &mut col, 1);
                }
                PosTree::Leaf(at)
            }
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(J::Seq(_, items)) => items.push(node),
            Some(J::Map(_, entries, key, _)) => match key.take() {
                Some((k, kp)) => entries.push((k, kp, node)),
                None => return Ok(None),
            },
        }
    }
    Ok(if stack.is_empty() { root } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Plain scalars read as serde_yaml_ng (the reader before this one) read them, so no
    /// template changes meaning: YAML 1.2 core schema plus 0x/0o/0b integers.
    #[test]
    fn scalars_resolve_as_before() {
        for s in [
            "~",
            "null",
            "NULL",
            "true",
            "False",
            "yes",
            "no",
            "on",
            "0x1F",
            "-0x10",
            "0o17",
            "0b101",
            "007",
            "-007",
            "0",
            "-0",
            "+12",
            "1_000",
            "1e3",
            "1.5",
            "-2.5e-3",
            ".5",
            "1e999",
            "12:30",
            "2026-11-22",
            "0.0",
            "x",
            "'5'",
            "\"true\"",
            "!!str 5",
            "!!int \"7\"",
            "18446744073709551615",
            "-9223372036854775808",
        ] {
            let text = format!("k: {s}\n");
            let ours = parse(&text).map(|s| s.value).map_err(|e| e.message);
            let before: Result<Value, String> =
                serde_yaml_ng::from_str(&text).map_err(|e| e.to_string());
            match (&ours, &before) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{s}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{s}: {ours:?} vs {before:?}"),
            }
        }
        // Past u64 serde_yaml_ng failed; a JSON number (a float) is kinder and what JSON gives.
        assert_eq!(parse("k: 99999999999999999999\n").unwrap().value["k"], 1e20);
        // As before: infinities are refused rather than turned into null.
        assert!(parse("k: +.inf\n")
            .unwrap_err()
            .message
            .contains("cannot be represented"));
    }

    #[test]
    fn positions_of_yaml_nodes() {
        let s = parse("A:\n  B: [x, {C: 1}]\n  D: !Ref X\n").unwrap();
        assert_eq!(
            s.value,
            json!({"A": {"B": ["x", {"C": 1}], "D": {"Ref": "X"}}})
        );
        let p = &s.positions;
        assert_eq!(p.find("A"), Pos { line: 1, col: 1 });
        assert_eq!(p.find("A.B[1].C"), Pos { line: 2, col: 11 });
        assert_eq!(p.find("A.B[0]"), Pos { line: 2, col: 7 });
        // Inside a short form, and a missing key: the nearest node the file has.
        assert_eq!(p.find("A.D.Ref"), Pos { line: 3, col: 3 });
        assert_eq!(p.find("A.Missing.Deeper"), Pos { line: 1, col: 1 });
        assert_eq!(p.find("A.B[9]"), Pos { line: 2, col: 3 });
        let s = parse("L:\n  - K: 1\n    J: 2\n").unwrap();
        assert_eq!(s.positions.find("L[0]"), Pos { line: 2, col: 5 });
    }

    #[test]
    fn positions_of_json_nodes_count_characters() {
        let s = parse("{\"A\": {\"é.x\": [1,\n  {\"C\": \"\\\"\"}]}}").unwrap();
        assert_eq!(s.value, json!({"A": {"é.x": [1, {"C": "\""}]}}));
        assert_eq!(s.positions.find("A.é.x[1].C"), Pos { line: 2, col: 4 });
        assert_eq!(s.positions.find("A.é.x"), Pos { line: 1, col: 8 });
    }

    #[test]
    fn block_nesting_is_bounded() {
        let mut text = String::new();
        for depth in 0..=MAX_DEPTH {
            text.push_str(&format!("{}k{depth}:\n", " ".repeat(depth)));
        }
        let e = parse(&text).unwrap_err();
        assert_eq!(e.kind, SourceErrorKind::TooDeep);
        // The map holding k100 is the 101st level; yaml-rust2 marks it at the key's colon.
        assert_eq!(
            e.pos,
            Some(Pos {
                line: 101,
                col: 105
            })
        );
    }

    #[test]
    fn aliases_count_at_their_expanded_size() {
        // 1,100 aliases (4 KB) to a list of 250 items cross 1 MB; the same aliases to a scalar do not.
        let list = format!("[{}]", vec!["abc"; 250].join(", "));
        let many = vec!["*a"; 1100].join(", ");
        let e = parse(&format!("A: &a {list}\nB: [{many}]\n")).unwrap_err();
        assert_eq!(e.kind, SourceErrorKind::AliasExpansion);
        let ok = parse(&format!("A: &a abc\nB: [{many}]\n")).unwrap();
        assert_eq!(ok.value["B"][1099], "abc");
    }

    /// Every anchor keeps a copy of its node for its aliases: anchors nested in anchors must not
    /// multiply a file's size in memory even when no alias is used.
    #[test]
    fn nested_anchors_count_their_copies() {
        let mut text = String::new();
        for depth in 0..50 {
            text.push_str(&format!("{}k{depth}: &a{depth}\n", " ".repeat(depth)));
        }
        text.push_str(&format!(
            "{}L: [{}]\n",
            " ".repeat(50),
            vec!["x"; 100_000].join(", ")
        ));
        assert!(text.len() < 400_000);
        let e = parse(&text).unwrap_err();
        assert_eq!(e.kind, SourceErrorKind::AliasExpansion);
    }

    #[test]
    fn one_document_and_known_tags_only() {
        assert_eq!(
            parse("A: 1\n---\nB: 2\n").unwrap_err().kind,
            SourceErrorKind::Unsupported
        );
        let e = parse("A: !Bogus x\n").unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.pos),
            ("unknown tag !Bogus", Some(Pos { line: 1, col: 11 }))
        );
        assert_eq!(
            parse("{A: 1, A: 2}").unwrap_err().kind,
            SourceErrorKind::DuplicateKey
        );
        assert_eq!(
            parse("{\"A\": 1, \"\\u0041\": 2}").unwrap_err().kind,
            SourceErrorKind::DuplicateKey
        );
    }
}
