//! The registry schema (`schema/Fargate-App.json`, read by cfn-lint, editors and the CDK types)
//! and the expansion must describe the same `Fargate::App`: the same properties at every level,
//! the same types, ranges and allowed values, the same required properties and attributes.
//!
//! The expansion is driven as a user would: each probe is a template, and a value counts as
//! accepted when the expansion reports no problem at that property's path in at least one of a
//! few valid surroundings (other properties are intrinsics or valid literals, so cross-property
//! rules such as Memory-with-Cpu or Min <= Max are not what is compared). Accepted property names
//! come from the expansion's own message for an unknown property, which lists them.
//!
//! Probes avoid values CloudFormation converts (numbers given for strings, numeric strings for
//! numbers), which cfn-lint accepts too; they use wrong types no conversion makes valid.

use fargate_macro::gen::{attributes_of, Settings};
use fargate_macro::spec::{read_app, TemplateCtx};
use fargate_macro::{expand, Problem, Problems};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

const SCHEMA: &str = include_str!("../../schema/Fargate-App.json");

/// A key no property is near, so the expansion's message lists every accepted key.
const NONSENSE_KEY: &str = "Qqqqqqqqqqqqqqqqqqqqqqqq";
const NONSENSE_WORD: &str = "Qqqq-not-a-valid-value";

/// Places where the schema is knowingly stricter than the expansion, each with why. The test
/// fails when one of these no longer differs, so the list shrinks as the expansion catches up.
const STRICTER_THAN_EXPANSION: &[(&str, &str)] = &[(
    "Properties.TaskPolicies[0].",
    "the expansion checks a statement's keys and Effect and passes the rest to IAM, which \
     rejects a wrongly typed Action, Resource, Condition or Sid at deploy time",
)];

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index,
}

fn render(path: &[Seg]) -> String {
    let mut s = String::from("Properties");
    for seg in path {
        match seg {
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index => s.push_str("[0]"),
        }
    }
    s
}

struct Schema {
    root: Value,
}

impl Schema {
    /// A node with its `$ref` followed; keywords next to the `$ref` (minItems, description)
    /// apply too, as cfn-lint applies them.
    fn resolve(&self, node: &Value) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let name = r
                .strip_prefix("#/definitions/")
                .unwrap_or_else(|| panic!("unsupported $ref {r}"));
            let target = &self.root["definitions"][name];
            assert!(!target.is_null(), "$ref {r} points nowhere");
            out = self.resolve(target);
        }
        if let Some(m) = node.as_object() {
            for (k, v) in m {
                if k != "$ref" {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }

    /// Does the schema accept `v` at this node? `None` when that depends on a pattern this
    /// test cannot evaluate.
    fn accepts(&self, node: &Value, v: &Value) -> Option<bool> {
        let n = self.resolve(node);
        let mut verdict = Some(true);
        let mut and = |x: Option<bool>| {
            verdict = match (verdict, x) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            }
        };
        if let Some(types) = n.get("type") {
            let types: Vec<&str> = match types {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            and(Some(types.iter().any(|t| is_type(v, t))));
        }
        if let Some(e) = n.get("enum").and_then(Value::as_array) {
            and(Some(e.contains(v)));
        }
        if let Some(f) = v.as_f64() {
            if let Some(min) = n.get("minimum").and_then(Value::as_f64) {
                and(Some(f >= min));
            }
            if let Some(max) = n.get("maximum").and_then(Value::as_f64) {
                and(Some(f <= max));
            }
        }
        if let Some(s) = v.as_str() {
            let len = s.chars().count() as u64;
            if let Some(min) = n.get("minLength").and_then(Value::as_u64) {
                and(Some(len >= min));
            }
            if let Some(max) = n.get("maxLength").and_then(Value::as_u64) {
                and(Some(len <= max));
            }
            if let Some(p) = n.get("pattern").and_then(Value::as_str) {
                and(regex_lite::Regex::new(p).ok().map(|re| re.is_match(s)));
            }
        }
        if let Some(a) = v.as_array() {
            if let Some(min) = n.get("minItems").and_then(Value::as_u64) {
                and(Some(a.len() as u64 >= min));
            }
            let prefix = n.get("prefixItems").and_then(Value::as_array);
            for (i, it) in a.iter().enumerate() {
                if let Some(p) = prefix.and_then(|p| p.get(i)) {
                    and(self.accepts(p, it));
                } else if let Some(items) = n.get("items") {
                    and(self.accepts(items, it));
                }
            }
        }
        if let Some(o) = v.as_object() {
            if let Some(props) = n.get("properties").and_then(Value::as_object) {
                for (k, val) in o {
                    match props.get(k) {
                        Some(p) => and(self.accepts(p, val)),
                        None if n.get("additionalProperties") == Some(&json!(false)) => {
                            and(Some(false))
                        }
                        None => {}
                    }
                }
            }
            if let Some(req) = n.get("required").and_then(Value::as_array) {
                and(Some(
                    req.iter().all(|k| o.contains_key(k.as_str().unwrap_or(""))),
                ));
            }
        }
        if n.get("not") == Some(&json!({})) {
            and(Some(false));
        }
        for (kw, want_one) in [("anyOf", false), ("oneOf", true)] {
            if let Some(branches) = n.get(kw).and_then(Value::as_array) {
                let vs: Vec<Option<bool>> = branches.iter().map(|b| self.accepts(b, v)).collect();
                if vs.contains(&None) {
                    and(None);
                } else {
                    let hits = vs.iter().filter(|x| **x == Some(true)).count();
                    and(Some(if want_one { hits == 1 } else { hits >= 1 }));
                }
            }
        }
        verdict
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// Valid surroundings for a probe: every object property present and valid, other values
/// intrinsics where the expansion compares them with each other. One per routing mode of
/// LoadBalancer, and one per Cpu size (Memory is checked against Cpu).
fn contexts() -> Vec<Value> {
    let full = json!({
        "Image": "img",
        "Network": { "VpcId": { "Ref": "Vpc" }, "Subnets": { "Ref": "Subnets" } },
        "Spot": { "OnDemandWeight": { "Ref": "Weight" } },
        "HealthCheck": { "Command": "true" },
        "TaskPolicies": [{ "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*" }],
        "LoadBalancer": {
            "Create": { "Scheme": "internal", "Subnets": ["subnet-a", "subnet-b"] },
            // An intrinsic Interval: Timeout is compared with it only when both are literals.
            "HealthCheck": { "Path": "/", "Interval": { "Ref": "Interval" } }
        },
        "Discovery": { "Name": "svc", "NamespaceName": "ns.local" },
        "Scaling": { "Min": { "Ref": "Min" }, "Max": { "Ref": "Max" }, "CpuPercent": { "Ref": "Cpu" } },
        "Deployment": { "CircuitBreaker": true },
        "Failover": {
            "Standby": { "FunctionArn": { "Ref": "Fn" } },
            // A metric the macro does not know needs its Statistic.
            // An intrinsic EvaluationPeriods: DatapointsToAlarm is compared with it only when
            // both are literals.
            "Trigger": { "Namespace": "N", "MetricName": "M", "Threshold": 1, "Statistic": "Sum", "EvaluationPeriods": { "Ref": "Ev" } },
            "Recovery": { "Namespace": "N", "MetricName": "M", "Threshold": 1, "Statistic": "Sum", "EvaluationPeriods": { "Ref": "Ev" } }
        },
        "LoadTest": { "Rate": { "Ref": "Rate" }, "Thresholds": { "P99Ms": { "Ref": "P99" } } },
        // RunToken goes with Run: OnChange; ExpectDesired is compared with literal Min/Max only.
        "ScalingCheck": { "Path": "/x", "Rate": 1, "Duration": 240, "ExpectDesired": 2, "Run": "OnChange" },
        "ServiceConnect": { "NamespaceName": "mesh.local", "ClientAliases": [{ "DnsName": "svc", "Port": 80 }] },
        "Domain": { "Name": "app.example.com", "HostedZoneId": { "Ref": "Zone" } },
        "PostCreate": { "FunctionArn": { "Ref": "Fn" } }
    });
    let mut out = vec![full.clone()];
    // DesiredCount is refused next to Scaling (it would undo scaling on every update).
    let mut fixed = full.clone();
    fixed.as_object_mut().unwrap().remove("Scaling");
    // ScalingCheck needs Scaling.
    fixed.as_object_mut().unwrap().remove("ScalingCheck");
    // With Failover and LoadTest the service must rest at a count the gate can measure.
    fixed["DesiredCount"] = json!(1);
    out.push(fixed);
    let mut port = full.clone();
    port["LoadBalancer"] = json!({
        "Arn": { "Ref": "Alb" }, "SecurityGroup": { "Ref": "Sg" }, "ListenerPort": "auto",
        "DnsName": "alb.example.com", "HealthCheck": { "Path": "/" }
    });
    port["Failover"] =
        json!({ "Standby": { "TargetGroupArn": { "Ref": "Tg" } }, "AlarmName": { "Ref": "A" } });
    out.push(port);
    let mut rule = full.clone();
    rule["LoadBalancer"] = json!({
        "Listener": { "Ref": "L" }, "Arn": { "Ref": "Alb" }, "SecurityGroup": { "Ref": "Sg" },
        "Path": "/x", "Host": "app.example.com", "Priority": "auto", "DnsName": "alb.example.com", "HealthCheck": { "Path": "/" }
    });
    // Priority auto cannot be combined with Failover and LoadTest (the gate's route needs a
    // priority below the App's): Failover is probed in the other contexts.
    rule.as_object_mut().unwrap().remove("Failover");
    // Domain is an alias to a listener of the App's own, not to a shared listener's rule.
    rule.as_object_mut().unwrap().remove("Domain");
    out.push(rule);
    // Deployment strategies: ECS shifts the same rule weights Failover moves, so these have none.
    for (strategy, settings) in [("Canary", "Canary"), ("Linear", "Linear")] {
        let mut d = full.clone();
        d.as_object_mut().unwrap().remove("Failover");
        d["LoadBalancer"] = json!({ "Create": true, "HealthCheck": { "Path": "/" } });
        d["Deployment"] = json!({ "Strategy": strategy, settings: {},
            "Hooks": [{ "Stage": "POST_SCALE_UP", "FunctionArn": { "Ref": "Fn" } }] });
        out.push(d);
    }
    // ScalingCheck: Within + ReturnWithin fit one invocation; the shortest Within leaves the
    // most for ReturnWithin.
    // Its load reaches the App from the provider Lambda: an ALB of the App's own, internet-facing,
    // HTTP, no Failover.
    let mut sc = full.clone();
    sc["ScalingCheck"]["Within"] = json!(240);
    sc.as_object_mut().unwrap().remove("Failover");
    sc["LoadBalancer"] = json!({ "Create": true, "HealthCheck": { "Path": "/" } });
    out.push(sc);
    // ServiceConnect takes Namespace or NamespaceName, never both.
    let mut ns = full.clone();
    ns["ServiceConnect"] = json!({ "Namespace": { "Ref": "Ns" } });
    out.push(ns);
    // A given TaskDefinition: no container properties, ContainerName and Port beside it.
    out.push(json!({
        "TaskDefinition": "web:1",
        "ContainerName": "web",
        "Port": 8080,
        "Network": { "VpcId": { "Ref": "Vpc" }, "Subnets": { "Ref": "Subnets" } },
        "LoadBalancer": { "Create": true, "HealthCheck": { "Path": "/" } }
    }));
    for cpu in [512, 1024, 2048, 4096, 8192, 16384] {
        let mut c = full.clone();
        c["Cpu"] = json!(cpu);
        out.push(c);
    }
    // ScalingCheck is refused with Failover (the standby takes its load) and behind an internal
    // ALB (the provider Lambda is outside the VPC): it is probed where it can reach the App.
    for c in &mut out {
        let internal = c["LoadBalancer"]["Create"]["Scheme"] == "internal";
        if internal || c.get("Failover").is_some() {
            c.as_object_mut().unwrap().remove("ScalingCheck");
        }
    }
    out
}

fn template(props: &Value) -> Value {
    json!({
        "Resources": {
            "App": { "Type": "Fargate::App", "Properties": props },
            // A peer, so that Network.AllowFrom has an App to name.
            "x": { "Type": "Fargate::App", "Properties": {
                "Image": "peer", "Network": { "VpcId": "vpc-1", "Subnets": ["subnet-1"] } } }
        }
    })
}

fn problems(props: &Value) -> Vec<Problem> {
    match expand(&template(props), &Settings::default()) {
        Ok(_) => vec![],
        Err(Problems(p)) => p,
    }
}

/// Problems of the App at `path`, inside it, or at an object holding it (a problem there, such
/// as "not used with Create", means the value at `path` was not even read).
fn problems_at(props: &Value, path: &str) -> Vec<String> {
    let near = |pp: &str| {
        pp == path
            || pp.starts_with(&format!("{path}."))
            || pp.starts_with(&format!("{path}["))
            || path.starts_with(&format!("{pp}."))
            || path.starts_with(&format!("{pp}["))
    };
    problems(props)
        .into_iter()
        .filter_map(|p| match p {
            Problem::Property {
                logical_id,
                path: pp,
                message,
            } if logical_id == "App" && near(&pp) => Some(format!("{pp}: {message}")),
            _ => None,
        })
        .collect()
}

/// `props` with `v` at `path` (objects and a one-item list made on the way as needed).
fn with(props: &Value, path: &[Seg], v: Value) -> Value {
    let mut out = props.clone();
    let mut cur = &mut out;
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match seg {
            Seg::Key(k) => {
                if !cur.is_object() {
                    *cur = json!({});
                }
                let m = cur.as_object_mut().unwrap();
                if last {
                    m.insert(k.clone(), v);
                    return out;
                }
                cur = m.entry(k.clone()).or_insert(json!({}));
            }
            Seg::Index => {
                if !matches!(cur, Value::Array(a) if !a.is_empty()) {
                    *cur = json!([{}]);
                }
                let a = cur.as_array_mut().unwrap();
                if last {
                    a[0] = v;
                    return out;
                }
                cur = &mut a[0];
            }
        }
    }
    v
}

fn without(props: &Value, path: &[Seg], key: &str) -> Option<Value> {
    let mut out = props.clone();
    let mut cur = &mut out;
    for seg in path {
        cur = match seg {
            Seg::Key(k) => cur.get_mut(k.as_str())?,
            Seg::Index => cur.get_mut(0)?,
        };
    }
    cur.as_object_mut()?.remove(key)?;
    Some(out)
}

/// The expansion's verdict on `v` at `path`: accepted in some context, or every rejection.
fn expansion_accepts(ctx: &[Value], path: &[Seg], v: &Value) -> Result<(), Vec<String>> {
    let at = render(path);
    let mut why = Vec::new();
    for c in ctx {
        // A context that leaves out a property of the first (full) one is no surrounding for
        // probes inside that property: a probe there would make a partial object.
        if let (Some(Seg::Key(k)), true) = (path.first(), path.len() > 1) {
            if ctx[0].get(k.as_str()).is_some() && c.get(k.as_str()).is_none() {
                continue;
            }
        }
        let found = problems_at(&with(c, path, v.clone()), &at);
        if found.is_empty() {
            return Ok(());
        }
        why.extend(found);
    }
    why.sort();
    why.dedup();
    Err(why)
}

/// Values to try at a node: its bounds and one past them, its allowed values and a few outside
/// them, and values of the wrong type.
fn probes(n: &Map<String, Value>, schema: &Schema) -> Vec<Value> {
    let mut out = vec![
        json!(NONSENSE_WORD),
        json!({ NONSENSE_KEY: 1 }),
        json!([[NONSENSE_WORD]]),
        json!(2.5),
        json!(true),
        json!(false),
        json!("x"),
        json!("/x"),
        json!(""),
    ];
    let nums = |m: &Map<String, Value>, out: &mut Vec<Value>| {
        if let Some(min) = m.get("minimum").and_then(Value::as_i64) {
            out.extend([json!(min), json!(min - 1)]);
        }
        if let Some(max) = m.get("maximum").and_then(Value::as_i64) {
            out.extend([json!(max), json!(max + 1)]);
        }
        if let Some(e) = m.get("enum").and_then(Value::as_array) {
            out.extend(e.iter().cloned());
            let ints: Vec<i64> = e.iter().filter_map(Value::as_i64).collect();
            if let (Some(lo), Some(hi)) = (ints.iter().min(), ints.iter().max()) {
                out.extend([json!(lo - 1), json!(hi + 1)]);
                if let Some(gap) = (*lo..*hi).find(|i| !ints.contains(i)) {
                    out.push(json!(gap));
                }
            }
        }
        if let Some(d) = m.get("default") {
            out.push(d.clone());
        }
    };
    nums(n, &mut out);
    for kw in ["anyOf", "oneOf"] {
        for b in n.get(kw).and_then(Value::as_array).into_iter().flatten() {
            nums(&schema.resolve(b), &mut out);
        }
    }
    if n.get("type") == Some(&json!("array")) || n.get("items").is_some() {
        out.extend([json!([]), json!(["x"])]);
    }
    out
}

fn is_coercible(n: &Map<String, Value>, v: &Value) -> bool {
    // Numbers and booleans where a string is expected: CloudFormation (and cfn-lint) take them.
    let types: Vec<&str> = match n.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    types.contains(&"string") && (v.is_number() || v.is_boolean())
}

struct Drift<'a> {
    schema: &'a Schema,
    ctx: Vec<Value>,
    findings: Vec<String>,
}

impl Drift<'_> {
    fn walk(&mut self, node: &Value, path: Vec<Seg>) {
        let n = self.schema.resolve(node);
        let at = render(&path);
        for v in probes(&n, self.schema) {
            if is_coercible(&n, &v) {
                continue;
            }
            let Some(schema_ok) = self.schema.accepts(node, &v) else {
                continue;
            };
            match (schema_ok, expansion_accepts(&self.ctx, &path, &v)) {
                (true, Err(why)) => self.findings.push(format!(
                    "{at} = {v}: the schema accepts it, the expansion rejects it ({})",
                    why.join("; ")
                )),
                (false, Ok(())) => self.findings.push(format!(
                    "{at} = {v}: the schema rejects it, the expansion accepts it"
                )),
                _ => {}
            }
        }
        self.words(node, &path);
        // Object branches (LoadBalancer.Create, Spot) and list items are walked like objects.
        let mut shapes = vec![n.clone()];
        for kw in ["anyOf", "oneOf"] {
            for b in n.get(kw).and_then(Value::as_array).into_iter().flatten() {
                let r = self.schema.resolve(b);
                if r.contains_key("properties") {
                    shapes.push(r);
                }
            }
        }
        for s in shapes {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                self.keys(&path, props);
                for (k, p) in props {
                    let mut child = path.clone();
                    child.push(Seg::Key(k.clone()));
                    self.walk(p, child);
                }
                self.required(&path, &s);
            } else if let Some(values) = map_values(&s) {
                let mut child = path.clone();
                child.push(Seg::Key("K".into()));
                self.walk(&values, child);
            }
            let first = s
                .get("prefixItems")
                .and_then(|p| p.get(0))
                .or_else(|| s.get("items"));
            if let Some(items) = first {
                let mut child = path.clone();
                child.push(Seg::Index);
                self.walk(items, child);
            }
        }
    }

    /// Allowed words: the schema's enum against the list in the expansion's message for a
    /// word it does not know (probing finds the schema's extra words, this the expansion's).
    fn words(&mut self, node: &Value, path: &[Seg]) {
        let n = self.schema.resolve(node);
        let Some(schema) = n.get("enum").and_then(Value::as_array) else {
            return;
        };
        let schema: BTreeSet<String> = schema
            .iter()
            .filter_map(|w| w.as_str().map(String::from))
            .collect();
        if schema.is_empty() {
            return;
        }
        let Err(why) = expansion_accepts(&self.ctx, path, &json!(NONSENSE_WORD)) else {
            return;
        };
        // "'x' is not one of A, B" or "'x' is not A or B"; a message without a list (the
        // health-check command's CMD) leaves the comparison to the probes.
        let listed = why.iter().find_map(|m| {
            let list = m
                .split(" is not one of ")
                .nth(1)
                .or_else(|| m.split("' is not ").nth(1))?;
            Some(
                list.split(", ")
                    .flat_map(|w| w.split(" or "))
                    .map(String::from)
                    .collect::<BTreeSet<_>>(),
            )
        });
        if let Some(expansion) = listed {
            if expansion != schema {
                self.findings.push(format!(
                    "{}: allowed values differ: the schema has {schema:?}, the expansion {expansion:?}",
                    render(path)
                ));
            }
        }
    }

    /// The property names here: the schema's against those the expansion lists.
    fn keys(&mut self, path: &[Seg], props: &Map<String, Value>) {
        let at = render(path);
        let mut probe = path.to_vec();
        probe.push(Seg::Key(NONSENSE_KEY.into()));
        let listed = self.ctx.iter().find_map(|c| {
            problems_at(&with(c, &probe, json!(1)), &render(&probe))
                .iter()
                .find_map(|m| {
                    let list = m.split("expected one of: ").nth(1)?.strip_suffix(')')?;
                    Some(list.split(", ").map(String::from).collect::<BTreeSet<_>>())
                })
        });
        let Some(expansion) = listed else {
            self.findings.push(format!(
                "{at}: the expansion does not reject an unknown property here ({NONSENSE_KEY})"
            ));
            return;
        };
        let schema: BTreeSet<String> = props
            .keys()
            .filter(|k| !(path.is_empty() && self.read_only().contains(*k)))
            .cloned()
            .collect();
        for k in expansion.difference(&schema) {
            // A name the expansion knows only to refuse with a better message (TaskPolicies'
            // Principal) is as absent as in the schema.
            let mut key = path.to_vec();
            key.push(Seg::Key(k.clone()));
            let refused = [
                json!("x"),
                json!(1),
                json!(true),
                json!(["x"]),
                json!({ "K": "x" }),
            ]
            .iter()
            .all(|v| expansion_accepts(&self.ctx, &key, v).is_err());
            if !refused {
                self.findings.push(format!(
                    "{at}.{k}: the expansion accepts this property; the schema does not have it"
                ));
            }
        }
        for k in schema.difference(&expansion) {
            self.findings.push(format!(
                "{at}.{k}: the schema has this property; the expansion rejects it as unknown"
            ));
        }
    }

    /// Every property the schema requires is required by the expansion.
    fn required(&mut self, path: &[Seg], n: &Map<String, Value>) {
        for k in n
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let k = k.as_str().unwrap_or_default();
            let mut child = path.to_vec();
            child.push(Seg::Key(k.into()));
            let at = render(&child);
            let tried: Vec<bool> = self
                .ctx
                .iter()
                .filter_map(|c| without(c, path, k))
                .map(|p| problems_at(&p, &at).is_empty())
                .collect();
            if tried.is_empty() {
                self.findings.push(format!(
                    "{at}: required by the schema; no test context sets it"
                ));
            } else if tried.iter().any(|ok| *ok) {
                self.findings.push(format!(
                    "{at}: required by the schema; the expansion accepts it missing"
                ));
            }
        }
    }

    fn read_only(&self) -> BTreeSet<String> {
        read_only(&self.schema.root)
    }
}

fn read_only(root: &Value) -> BTreeSet<String> {
    root["readOnlyProperties"]
        .as_array()
        .expect("readOnlyProperties")
        .iter()
        .filter_map(|p| p.as_str()?.strip_prefix("/properties/").map(String::from))
        .collect()
}

/// The value schema of a map (Environment, Tags, Headers...).
fn map_values(n: &Map<String, Value>) -> Option<Value> {
    if let Some(pp) = n.get("patternProperties").and_then(Value::as_object) {
        return pp.values().next().cloned();
    }
    n.get("additionalProperties")
        .filter(|v| v.is_object())
        .cloned()
}

#[test]
fn the_test_contexts_are_valid_apps() {
    for c in contexts() {
        assert_eq!(problems(&c), vec![], "context {c}");
    }
}

#[test]
fn schema_and_expansion_agree_property_by_property() {
    let schema = Schema {
        root: serde_json::from_str(SCHEMA).expect("schema/Fargate-App.json is JSON"),
    };
    assert_eq!(schema.root["typeName"], "Fargate::App");
    assert_eq!(schema.root["additionalProperties"], false);
    let mut d = Drift {
        schema: &schema,
        ctx: contexts(),
        findings: Vec::new(),
    };
    let top = json!({
        "type": "object",
        "properties": schema.root["properties"],
        "required": schema.root["required"],
    });
    let top = {
        let mut t = top;
        for k in read_only(&schema.root) {
            t["properties"].as_object_mut().unwrap().remove(&k);
        }
        t
    };
    d.walk(&top, vec![]);

    let mut unexpected = Vec::new();
    let mut still_different = vec![false; STRICTER_THAN_EXPANSION.len()];
    for f in d.findings {
        match STRICTER_THAN_EXPANSION.iter().position(|(p, _)| {
            f.starts_with(p) && f.contains("the schema rejects it, the expansion accepts")
        }) {
            Some(i) => still_different[i] = true,
            None => unexpected.push(f),
        }
    }
    for (i, (p, _)) in STRICTER_THAN_EXPANSION.iter().enumerate() {
        if !still_different[i] {
            unexpected.push(format!(
                "{p}: listed in STRICTER_THAN_EXPANSION but the schema and the expansion now agree; remove it"
            ));
        }
    }
    assert!(
        unexpected.is_empty(),
        "schema/Fargate-App.json and the expansion disagree ({} findings); make the schema (or \
         the expansion) say the same:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}

#[test]
fn schema_attributes_are_the_apps_attributes() {
    let root: Value = serde_json::from_str(SCHEMA).unwrap();
    let mut problems = Problems::default();
    let resource = json!({ "Type": "Fargate::App", "Properties": contexts()[0] });
    let resources = Map::new();
    let app_ids = ["App".to_string()];
    let ctx = TemplateCtx {
        resources: &resources,
        parameters: None,
        parameter_values: None,
        app_ids: &app_ids,
    };
    let app = read_app("App", &resource, &ctx, &mut problems).expect("a valid App");
    let expansion: BTreeSet<String> = attributes_of(&app, &Settings::default())
        .into_iter()
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(
        read_only(&root),
        expansion,
        "readOnlyProperties (the GetAtt attributes) differ from the attributes an App has"
    );
    // Ref of an App is its ECS service's ARN.
    assert_eq!(root["primaryIdentifier"], json!(["/properties/ServiceArn"]));
}
