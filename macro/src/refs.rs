//! Rewrites what points at an App (`Ref`, `Fn::GetAtt`, `${App.Attr}` in `Fn::Sub`,
//! `DependsOn`) to the resources it expanded into.

use crate::error::{Problem, Problems};
use crate::intrinsics::{inline_form, ref_};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// What references to one App resolve to.
pub struct Target<'a> {
    /// `!Ref App` resolves to this resource (the ECS service).
    pub ref_id: String,
    /// `DependsOn: App` becomes these resources.
    pub resource_ids: Vec<String>,
    pub attributes: &'a [(&'static str, Result<Value, String>)],
}

/// A property path, built as the walk descends and rendered only for a message.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    pub fn render(&self) -> String {
        match self {
            Path::Root(s) => s.to_string(),
            Path::Key(p, k) => crate::reader::path(&p.render(), k),
            Path::Index(p, i) => format!("{}[{i}]", p.render()),
        }
    }
}

/// Where a value sits, for messages.
#[derive(Clone, Copy)]
pub enum Owner<'a> {
    Resource(&'a str),
    Section(&'a str),
}

pub struct Rewriter<'a, 'p> {
    pub targets: &'a HashMap<String, Target<'a>>,
    pub problems: &'p mut Problems,
}

impl Rewriter<'_, '_> {
    fn err(&mut self, owner: Owner, path: &Path, msg: String) {
        let path = &path.render();
        self.problems.push(match owner {
            Owner::Resource(id) => Problem::property(id, path, msg),
            Owner::Section(s) => Problem::template(&crate::reader::path(s, path), msg),
        });
    }

    /// Rewrites `DependsOn` of one resource; true when it named an App.
    pub fn depends_on(&mut self, resource: &mut Value) -> bool {
        let Some(obj) = resource.as_object_mut() else {
            return false;
        };
        let Some(dep) = obj.get_mut("DependsOn") else {
            return false;
        };
        let list: Vec<Value> = match dep {
            Value::String(_) => vec![dep.clone()],
            Value::Array(a) => a.clone(),
            _ => return false,
        };
        if !list
            .iter()
            .any(|d| d.as_str().is_some_and(|s| self.targets.contains_key(s)))
        {
            return false;
        }
        let mut out: Vec<Value> = Vec::new();
        for d in list {
            let expanded: Vec<Value> = match d.as_str().and_then(|s| self.targets.get(s)) {
                Some(t) => t
                    .resource_ids
                    .iter()
                    .map(|i| Value::String(i.clone()))
                    .collect(),
                None => vec![d],
            };
            for e in expanded {
                if !out.contains(&e) {
                    out.push(e);
                }
            }
        }
        *dep = Value::Array(out);
        true
    }

    /// Rewrites every reference to an App inside `v`.
    pub fn walk(&mut self, v: &mut Value, owner: Owner, path: &Path) {
        if let Some(new) = self.rewrite_intrinsic(v, owner, path) {
            *v = new;
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    self.walk(x, owner, &Path::Key(path, k));
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter_mut().enumerate() {
                    self.walk(x, owner, &Path::Index(path, i));
                }
            }
            _ => {}
        }
    }

    fn attribute(&mut self, app: &str, attr: &str, owner: Owner, path: &Path) -> Option<Value> {
        let t = self.targets.get(app)?;
        match t.attributes.iter().find(|(n, _)| *n == attr) {
            Some((_, Ok(v))) => Some(v.clone()),
            Some((_, Err(why))) => {
                let why = why.clone();
                self.err(owner, path, format!("{app}.{attr} is not available: {why}"));
                Some(Value::Null)
            }
            None => {
                let names: Vec<&str> = t.attributes.iter().map(|(n, _)| *n).collect();
                self.err(
                    owner,
                    path,
                    format!(
                        "Fargate::App {app} has no attribute '{attr}' (attributes: {})",
                        names.join(", ")
                    ),
                );
                Some(Value::Null)
            }
        }
    }

    fn rewrite_intrinsic(&mut self, v: &Value, owner: Owner, path: &Path) -> Option<Value> {
        let m = v.as_object().filter(|m| m.len() == 1)?;
        let (k, arg) = m.iter().next()?;
        match k.as_str() {
            "Ref" => {
                let name = arg.as_str()?;
                self.targets.get(name).map(|t| ref_(&t.ref_id))
            }
            "Fn::GetAtt" => {
                let (app, attr) = match arg {
                    Value::Array(a) if a.len() == 2 => (a[0].as_str()?, a[1].clone()),
                    Value::String(s) => {
                        let (a, b) = s.split_once('.')?;
                        (a, Value::String(b.to_string()))
                    }
                    _ => return None,
                };
                if !self.targets.contains_key(app) {
                    return None;
                }
                let p = Path::Key(path, "Fn::GetAtt");
                match attr.as_str() {
                    Some(attr) => self.attribute(app, attr, owner, &p),
                    None => {
                        self.err(
                            owner,
                            &p,
                            format!("the attribute of Fargate::App {app} must be a literal name"),
                        );
                        Some(Value::Null)
                    }
                }
            }
            "Fn::Sub" => {
                let p = Path::Key(path, "Fn::Sub");
                let (text, mut vars) = match arg {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(a) if a.len() == 2 => {
                        let mut vars = a[1].as_object()?.clone();
                        for (name, x) in vars.iter_mut() {
                            let vars_path = Path::Index(&p, 1);
                            self.walk(x, owner, &Path::Key(&vars_path, name));
                        }
                        (a[0].as_str()?.to_string(), vars)
                    }
                    _ => return None,
                };
                let text = self.rewrite_sub_text(&text, &mut vars, owner, &p);
                Some(if vars.is_empty() && !text.contains("${") {
                    // Every substitution resolved to a literal.
                    Value::String(text)
                } else if vars.is_empty() {
                    json!({ "Fn::Sub": text })
                } else {
                    json!({ "Fn::Sub": [text, vars] })
                })
            }
            _ => None,
        }
    }

    /// Replaces `${App}` and `${App.Attr}` in an `Fn::Sub` string.
    fn rewrite_sub_text(
        &mut self,
        text: &str,
        vars: &mut Map<String, Value>,
        owner: Owner,
        path: &Path,
    ) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            let replaced = if name.starts_with('!') || vars.contains_key(name) {
                None
            } else {
                let (app, attr) = match name.split_once('.') {
                    Some((a, b)) => (a, Some(b)),
                    None => (name, None),
                };
                match (self.targets.get(app), attr) {
                    (Some(t), None) => Some(format!("${{{}}}", t.ref_id)),
                    (Some(_), Some(attr)) => self.attribute(app, attr, owner, path).map(|v| {
                        if let Some(inline) = inline_form(&v) {
                            inline
                        } else {
                            match &v {
                                Value::String(s) => s.replace("${", "${!"),
                                Value::Number(n) => n.to_string(),
                                Value::Null => String::new(),
                                _ => {
                                    let var = format!("FargateApp{app}{attr}");
                                    vars.insert(var.clone(), v);
                                    format!("${{{var}}}")
                                }
                            }
                        }
                    }),
                    (None, _) => None,
                }
            };
            match replaced {
                Some(r) => out.push_str(&r),
                None => out.push_str(&rest[start..start + 2 + end + 1]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}
