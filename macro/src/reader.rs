//! A reader over one resource's properties that checks types and ranges of literal values,
//! passes intrinsics through, and records every problem instead of stopping at the first.

use crate::error::{Problem, Problems};
use crate::intrinsics::is_intrinsic;
use serde_json::{Map, Value};

/// A property value: a literal checked by the macro, or an intrinsic left for CloudFormation.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<T> {
    Lit(T),
    Expr(Value),
}

impl<T: Clone + Into<Value>> Val<T> {
    /// The value as it goes into the expanded template.
    pub fn json(&self) -> Value {
        match self {
            Val::Lit(t) => t.clone().into(),
            Val::Expr(v) => v.clone(),
        }
    }
}

impl<T> Val<T> {
    pub fn lit(&self) -> Option<&T> {
        match self {
            Val::Lit(t) => Some(t),
            Val::Expr(_) => None,
        }
    }
}

impl Val<u64> {
    /// The value as a string (CloudFormation takes task Cpu/Memory as strings).
    pub fn json_string(&self) -> Value {
        match self {
            Val::Lit(n) => Value::String(n.to_string()),
            Val::Expr(v) => v.clone(),
        }
    }
}

/// Reads the properties of one resource, collecting problems under its logical ID.
pub struct Reader<'p> {
    pub id: String,
    problems: &'p mut Problems,
}

/// Joins a property path: `path("Properties.Network", "VpcId")`. A key longer than any
/// property name is shortened, so a megabyte-long key is not echoed whole.
pub fn path(base: &str, key: &str) -> String {
    let key = short_key(key);
    if base.is_empty() {
        key
    } else {
        format!("{base}.{key}")
    }
}

/// Keys longer than this are shown by their beginning only.
pub const MAX_SHOWN_KEY: usize = 64;

/// A key as messages show it: whole up to `MAX_SHOWN_KEY` characters, else its beginning and `...`.
pub fn short_key(key: &str) -> String {
    match key.char_indices().nth(MAX_SHOWN_KEY) {
        None => key.to_string(),
        Some(_) => {
            let end = key
                .char_indices()
                .nth(MAX_SHOWN_KEY - 3)
                .map_or(key.len(), |(i, _)| i);
            format!("{}...", &key[..end])
        }
    }
}

/// A short rendering of a value for messages.
pub fn show(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    };
    if s.len() > 80 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(77).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

impl<'p> Reader<'p> {
    pub fn new(id: &str, problems: &'p mut Problems) -> Self {
        Reader {
            id: id.to_string(),
            problems,
        }
    }

    pub fn problem_count(&self) -> usize {
        self.problems.len()
    }

    pub fn err(&mut self, path: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::property(&self.id, path, message.into()));
    }

    /// An object whose keys must all be among `allowed`; intrinsics are not accepted here
    /// because the macro has to read the fields.
    pub fn object<'v>(
        &mut self,
        p: &str,
        v: &'v Value,
        allowed: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(m) if !is_intrinsic(v) => {
                for k in m.keys() {
                    if !allowed.contains(&k.as_str()) {
                        let msg = match closest(k, allowed) {
                            Some(near) => format!("unknown property; did you mean {near}?"),
                            None => format!(
                                "unknown property (expected one of: {})",
                                allowed.join(", ")
                            ),
                        };
                        self.err(&path(p, k), msg);
                    }
                }
                Some(m)
            }
            _ => {
                self.err(
                    p,
                    format!(
                        "expected an object with keys among {}, got {}",
                        allowed.join(", "),
                        show(v)
                    ),
                );
                None
            }
        }
    }

    /// A map of names to values (Environment, Tags...). Values may be scalars or intrinsics.
    pub fn string_map(&mut self, p: &str, v: &Value) -> Vec<(String, Value)> {
        let Value::Object(m) = v else {
            self.err(
                p,
                format!("expected a map of names to values, got {}", show(v)),
            );
            return Vec::new();
        };
        if is_intrinsic(v) {
            self.err(p, "must be a literal map (its keys are needed at expansion time); intrinsics are welcome in its values");
            return Vec::new();
        }
        let mut out = Vec::new();
        for (k, val) in m {
            let kp = path(p, k);
            match val {
                Value::String(_) => out.push((k.clone(), val.clone())),
                Value::Number(n) => out.push((k.clone(), Value::String(n.to_string()))),
                Value::Bool(b) => out.push((k.clone(), Value::String(b.to_string()))),
                _ if is_intrinsic(val) => out.push((k.clone(), val.clone())),
                _ => self.err(
                    &kp,
                    format!(
                        "expected a string, number, boolean or intrinsic, got {}",
                        show(val)
                    ),
                ),
            }
        }
        out
    }

    pub fn string(&mut self, p: &str, v: &Value) -> Option<Val<String>> {
        match v {
            Value::String(s) => Some(Val::Lit(s.clone())),
            _ if is_intrinsic(v) => Some(Val::Expr(v.clone())),
            _ => {
                self.err(p, format!("expected a string, got {}", show(v)));
                None
            }
        }
    }

    /// A non-empty string, or an intrinsic.
    pub fn nonempty(&mut self, p: &str, v: &Value) -> Option<Val<String>> {
        match self.string(p, v) {
            Some(Val::Lit(s)) if s.trim().is_empty() => {
                self.err(p, "must not be empty");
                None
            }
            other => other,
        }
    }

    /// One of a fixed set of words (compared exactly).
    pub fn word(&mut self, p: &str, v: &Value, allowed: &[&str]) -> Option<Val<String>> {
        match self.string(p, v)? {
            Val::Lit(s) if !allowed.contains(&s.as_str()) => {
                self.err(
                    p,
                    format!("{} is not one of {}", show(v), allowed.join(", ")),
                );
                None
            }
            other => Some(other),
        }
    }

    /// A duration in whole seconds, `min..=max`: a number of seconds (`60`, `"60"`) or a
    /// number with a unit (`"90s"`, `"2m"`, `"1h"`, `"1500ms"` when it is whole seconds), as
    /// the CLI's durations. An error gives the bounds in the unit the value was written in
    /// (`"20m" is out of range (1s to 10m)`).
    pub fn seconds(&mut self, p: &str, v: &Value, min: u64, max: u64) -> Option<Val<u64>> {
        let Value::String(text) = v else {
            return self.int(p, v, min, max);
        };
        let t = text.trim();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = t.split_at(digits);
        if unit.is_empty() {
            return self.int(p, v, min, max);
        }
        let factor_ms: u64 = match unit.trim() {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => 0,
        };
        let ms = number
            .parse::<u64>()
            .ok()
            .filter(|_| factor_ms > 0)
            .and_then(|n| n.checked_mul(factor_ms));
        let Some(ms) = ms else {
            self.err(
                p,
                format!(
                    "expected a duration from {min} to {max} seconds: a number of seconds (60) or one with a unit (90s, 2m, 1h), got {}",
                    show(v)
                ),
            );
            return None;
        };
        let in_unit = |secs: u64| {
            let f = factor_ms.max(1000) / 1000;
            let u = if factor_ms < 1000 { "s" } else { unit.trim() };
            if secs.is_multiple_of(f) {
                format!("{}{u}", secs / f)
            } else {
                format!("{secs}s")
            }
        };
        if !ms.is_multiple_of(1000) {
            self.err(p, format!("{} is not a whole number of seconds", show(v)));
            return None;
        }
        let secs = ms / 1000;
        if secs < min || secs > max {
            self.err(
                p,
                format!(
                    "{} is out of range ({} to {})",
                    show(v),
                    in_unit(min),
                    in_unit(max)
                ),
            );
            return None;
        }
        Some(Val::Lit(secs))
    }

    /// An integer in `min..=max`; numeric strings are accepted as CloudFormation does.
    pub fn int(&mut self, p: &str, v: &Value, min: u64, max: u64) -> Option<Val<u64>> {
        if is_intrinsic(v) {
            return Some(Val::Expr(v.clone()));
        }
        let n = match v {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            }),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n >= min && n <= max => Some(Val::Lit(n)),
            Some(n) => {
                self.err(p, format!("{n} is out of range ({min}..{max})"));
                None
            }
            None => {
                self.err(
                    p,
                    format!(
                        "expected a whole number from {min} to {max}, got {}",
                        show(v)
                    ),
                );
                None
            }
        }
    }

    /// A number (fractions allowed) in `min..=max`.
    pub fn number(&mut self, p: &str, v: &Value, min: f64, max: f64) -> Option<Val<f64>> {
        if is_intrinsic(v) {
            return Some(Val::Expr(v.clone()));
        }
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n >= min && n <= max => Some(Val::Lit(n)),
            Some(n) => {
                self.err(p, format!("{n} is out of range ({min}..{max})"));
                None
            }
            None => {
                self.err(
                    p,
                    format!("expected a number from {min} to {max}, got {}", show(v)),
                );
                None
            }
        }
    }

    pub fn boolean(&mut self, p: &str, v: &Value) -> Option<Val<bool>> {
        match v {
            Value::Bool(b) => Some(Val::Lit(*b)),
            Value::String(s) if s == "true" || s == "false" => Some(Val::Lit(s == "true")),
            _ if is_intrinsic(v) => Some(Val::Expr(v.clone())),
            _ => {
                self.err(p, format!("expected true or false, got {}", show(v)));
                None
            }
        }
    }

    /// A list whose items are checked by `item`; an intrinsic standing for the whole list
    /// (`!Ref SubnetsParameter`) is kept as is.
    pub fn list<T>(
        &mut self,
        p: &str,
        v: &Value,
        mut item: impl FnMut(&mut Self, &str, &Value) -> Option<T>,
    ) -> Option<ListVal<T>> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    if let Some(t) = item(self, &format!("{p}[{i}]"), it) {
                        out.push(t);
                    }
                }
                Some(ListVal::Items(out))
            }
            _ if is_intrinsic(v) => Some(ListVal::Expr(v.clone())),
            _ => {
                self.err(p, format!("expected a list, got {}", show(v)));
                None
            }
        }
    }
}

/// A list property: literal items, or one intrinsic that yields the whole list.
#[derive(Debug, Clone, PartialEq)]
pub enum ListVal<T> {
    Items(Vec<T>),
    Expr(Value),
}

impl<T> ListVal<T> {
    pub fn items(&self) -> &[T] {
        match self {
            ListVal::Items(v) => v,
            ListVal::Expr(_) => &[],
        }
    }
}

impl ListVal<Value> {
    pub fn json(&self) -> Value {
        match self {
            ListVal::Items(v) => Value::Array(v.clone()),
            ListVal::Expr(e) => e.clone(),
        }
    }
}

/// The allowed name nearest to a misspelt one, if it is close (a typo, not another word).
/// Names whose length alone rules them out are skipped, so a huge key costs no more than its
/// length.
fn closest<'a>(word: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let len = lower.chars().count();
    allowed
        .iter()
        .filter(|a| len.abs_diff(a.chars().count()) <= 2.max(a.len() / 5))
        .map(|a| (edit_distance(&lower, &a.to_ascii_lowercase()), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 5) && *d < a.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        assert_eq!(closest("Imgae", &["Image", "Port"]), Some("Image"));
        assert_eq!(closest("memory", &["Image", "Memory"]), Some("Memory"));
        assert_eq!(closest("Banana", &["Image", "Port"]), None);
        assert_eq!(closest(&"Image".repeat(100_000), &["Image"]), None);
    }

    /// Durations as the CLI takes them; errors give the real bounds, in the unit written.
    #[test]
    fn seconds_take_a_number_or_a_unit() {
        use serde_json::json;
        // (value, min, max, seconds or the error)
        let cases: [(Value, u64, u64, Result<u64, &str>); 13] = [
            (json!(60), 1, 600, Ok(60)),
            (json!("60"), 1, 600, Ok(60)),
            (json!("60s"), 1, 600, Ok(60)),
            (json!("2m"), 1, 600, Ok(120)),
            (json!(" 1h "), 0, 3600, Ok(3600)),
            (json!("2000ms"), 1, 600, Ok(2)),
            (json!("20m"), 1, 600, Err("'20m' is out of range (1s to 10m)")),
            (json!("700s"), 1, 600, Err("'700s' is out of range (1s to 600s)")),
            (json!("1s"), 5, 300, Err("'1s' is out of range (5s to 300s)")),
            (json!(700), 1, 600, Err("700 is out of range (1..600)")),
            (json!("1500ms"), 1, 600, Err("'1500ms' is not a whole number of seconds")),
            (
                json!("10x"),
                1,
                600,
                Err("expected a duration from 1 to 600 seconds: a number of seconds (60) or one with a unit (90s, 2m, 1h), got '10x'"),
            ),
            (json!("99999999999999999999h"), 1, 600, Err("expected a duration from 1 to 600 seconds")),
        ];
        for (v, min, max, want) in cases {
            let mut problems = Problems::default();
            let got = {
                let mut r = Reader::new("A", &mut problems);
                r.seconds("Properties.D", &v, min, max)
            };
            match want {
                Ok(n) => {
                    assert!(matches!(got, Some(Val::Lit(x)) if x == n), "{v}: {got:?}");
                    assert_eq!(problems.iter().count(), 0, "{v}");
                }
                Err(e) => {
                    assert!(got.is_none(), "{v}");
                    let text = problems.iter().map(|p| p.to_string()).collect::<String>();
                    assert!(text.contains(e), "{v}: {text}");
                }
            }
        }
    }

    #[test]
    fn long_keys_are_shortened_in_paths() {
        let p = path("Properties", &"K".repeat(1000));
        assert_eq!(p, format!("Properties.{}...", "K".repeat(61)));
        assert_eq!(path("Properties", "Image"), "Properties.Image");
    }
}
