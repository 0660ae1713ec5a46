//! `Name`: the names of what an App creates, from one base (a branch's environment:
//! `Name: !Sub my-project-${Branch}`). The base must be known when the macro runs (a literal, or
//! `Ref`/`Fn::Sub` over the stack's parameters, whose values CloudFormation gives the macro as
//! `templateParameterValues`): CloudFormation has no function that shortens or hashes a string,
//! so a name that must fit a length is made here.
//!
//! Rules per resource (each name is `<base><suffix>`):
//! - target group `<base>-tg-<hash>` (a strategy's second one `<base>-tg2-<hash>`; the hash is of
//!   the create-only values, see [`Names::target_group_key`]) and load balancer `<base>-alb`
//!   (`<base>-int-alb` when internal): at most 32 characters,
//!   alphanumerics and hyphens, not beginning or ending with a hyphen; a load balancer's must
//!   not begin with `internal-`
//!   (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html,
//!   https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html);
//! - ECS service `<base>-service` and task definition family `<base>`: up to 255 letters,
//!   numbers, underscores and hyphens
//!   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html,
//!   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html);
//! - log group `/fargate-app/<base>`: 1-512 characters of `a-zA-Z0-9_-/.#`
//!   (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html).
//!
//! The base is lower-cased and every character outside `a-z0-9-` becomes a hyphen (runs of
//! hyphens fold into one, none at either end), which all five rules accept. A name longer than
//! its limit keeps the start of the base and ends with `-` and 8 hex digits of the SHA-256 of the
//! whole base, so two long bases with one prefix get two names, and the same base always the
//! same name (a new name would replace the resource).

use super::TemplateCtx;
use crate::reader::{show, Reader};
use serde_json::Value;

/// The base after sanitising, and the names made from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Names {
    pub base: String,
    /// The target groups' create-only values as known when the macro runs (`Port`, `VpcId`;
    /// `Protocol` and `TargetType` are always HTTP and ip): CloudFormation cannot replace a
    /// custom-named resource under the same name, so the target groups' names carry a hash of
    /// them and change whenever an update replaces them.
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-targetgroup.html
    pub target_group_key: String,
    /// The App's own ALB is internal: `Scheme` is create-only
    /// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html),
    /// so the load balancer's name differs by scheme (`Type` is always application).
    pub internal_alb: bool,
}

pub const TARGET_GROUP_MAX: usize = 32;
pub const LOAD_BALANCER_MAX: usize = 32;
pub const SERVICE_MAX: usize = 255;
pub const FAMILY_MAX: usize = 255;
pub const LOG_GROUP_MAX: usize = 512;
const LOG_GROUP_PREFIX: &str = "/fargate-app/";

impl Names {
    /// `<base>-tg-<hash>` (6 hex digits of the SHA-256 of the create-only values); past 32
    /// characters the base is cut and ends with 8 hex digits of the SHA-256 of the base and
    /// the values together, then `-tg`.
    pub fn target_group(&self) -> String {
        fit_keyed(&self.base, "-tg", &self.target_group_key, TARGET_GROUP_MAX)
    }
    /// Blue/green, canary and linear deployments' second target group.
    pub fn alternate_target_group(&self) -> String {
        fit_keyed(&self.base, "-tg2", &self.target_group_key, TARGET_GROUP_MAX)
    }
    /// `<base>-alb` when internet-facing (the name earlier releases gave), `<base>-int-alb`
    /// when internal.
    pub fn load_balancer(&self) -> String {
        let suffix = if self.internal_alb {
            "-int-alb"
        } else {
            "-alb"
        };
        fit(&self.base, suffix, LOAD_BALANCER_MAX)
    }
    pub fn service(&self) -> String {
        fit(&self.base, "-service", SERVICE_MAX)
    }
    pub fn family(&self) -> String {
        fit(&self.base, "", FAMILY_MAX)
    }
    pub fn log_group(&self) -> String {
        format!(
            "{LOG_GROUP_PREFIX}{}",
            fit(&self.base, "", LOG_GROUP_MAX - LOG_GROUP_PREFIX.len())
        )
    }
}

/// Lower case, `a-z0-9-` only, no hyphen runs, none at either end.
pub fn sanitise(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.trim_end_matches('-').to_string()
}

/// 8 hex digits of the SHA-256 of `s`.
fn hash8(s: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(s.as_bytes());
    d.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// `<base><suffix>-<6 hex of key's hash>` within `max` characters: past it, the base is cut and
/// ends with `-` and 8 hex digits of the SHA-256 of the base and the key, then the suffix. Either
/// way the name changes with the key.
pub fn fit_keyed(base: &str, suffix: &str, key: &str, max: usize) -> String {
    let full = format!("{base}{suffix}-{}", &hash8(key)[..6]);
    if full.len() <= max {
        return full;
    }
    let keep = max.saturating_sub(suffix.len() + 9);
    let head = base[..keep.min(base.len())].trim_end_matches('-');
    let sep = if head.is_empty() { "" } else { "-" };
    format!("{head}{sep}{}{suffix}", hash8(&format!("{base}\n{key}")))
}

/// `<base><suffix>` within `max` characters: past it, the base is cut and ends with `-` and 8
/// hex digits of its whole SHA-256.
pub fn fit(base: &str, suffix: &str, max: usize) -> String {
    if base.len() + suffix.len() <= max {
        return format!("{base}{suffix}");
    }
    let keep = max.saturating_sub(suffix.len() + 9);
    let head = base[..keep.min(base.len())].trim_end_matches('-');
    let sep = if head.is_empty() { "" } else { "-" };
    format!("{head}{sep}{}{suffix}", hash8(base))
}

/// The known text of `v`: a literal, `Ref` of a parameter, or `Fn::Sub` whose every `${X}` is
/// a parameter (values from `templateParameterValues`, else the parameter's `Default`).
fn known_text(v: &Value, ctx: &TemplateCtx) -> Result<String, String> {
    let param = |name: &str| -> Result<String, String> {
        if !ctx.is_parameter(name) {
            return Err(format!("'{name}' is not a parameter of the template"));
        }
        match ctx.parameter_value(&serde_json::json!({ "Ref": name })) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!("parameter '{name}' is {}, not a string", show(other))),
            None => Err(format!(
                "parameter '{name}' has no value here (give it a Default, or a value with --parameters)"
            )),
        }
    };
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Object(m) if m.len() == 1 => match (m.get("Ref"), m.get("Fn::Sub")) {
            (Some(Value::String(name)), _) => param(name),
            (_, Some(Value::String(text))) => {
                let mut out = String::new();
                let mut rest = text.as_str();
                while let Some(at) = rest.find("${") {
                    out.push_str(&rest[..at]);
                    let after = &rest[at + 2..];
                    let Some(end) = after.find('}') else {
                        return Err("an unclosed ${ in Fn::Sub".into());
                    };
                    out.push_str(&param(&after[..end])?);
                    rest = &after[end + 1..];
                }
                out.push_str(rest);
                Ok(out)
            }
            _ => Err(format!("{} is not a literal, Ref or Fn::Sub", show(v))),
        },
        _ => Err(format!("{} is not a string", show(v))),
    }
}

pub(super) fn read_names(
    r: &mut Reader,
    p: &str,
    v: &Value,
    ctx: &TemplateCtx,
    dedicated_alb: bool,
) -> Option<Names> {
    let text = match known_text(v, ctx) {
        Ok(t) => t,
        Err(why) => {
            r.err(
                p,
                format!(
                    "must be known when the macro runs (a literal, or Ref or Fn::Sub of parameters), since names are shortened and hashed there: {why}"
                ),
            );
            return None;
        }
    };
    let base = sanitise(&text);
    if base.is_empty() {
        r.err(
            p,
            format!("'{text}' has no letter or digit to make a name of (target groups, services and log groups take letters, digits and hyphens)"),
        );
        return None;
    }
    let names = Names {
        base,
        target_group_key: String::new(),
        internal_alb: false,
    };
    if dedicated_alb && names.load_balancer().starts_with("internal-") {
        r.err(
            p,
            format!(
                "'{}' is not allowed in a load balancer name: it must not begin with internal- (CreateLoadBalancer); give a Name that does not start with 'internal'",
                names.load_balancer()
            ),
        );
        return None;
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's example and the limits of each rule, one table.
    #[test]
    fn names_fit_their_limits_and_stay_distinct() {
        let long = format!("my-project-{}", "feature-".repeat(10));
        let cases: &[(&str, &str, usize, &str)] = &[
            // The seed: my-project + feature/test123 -> my-project-test123-tg (the branch kept whole).
            (
                "My-Project/feature/test123",
                "-tg",
                32,
                "my-project-feature-test123-tg",
            ),
            ("a__b..c", "-service", 255, "a-b-c-service"),
            ("--x--", "", 255, "x"),
        ];
        for (text, suffix, max, want) in cases {
            assert_eq!(fit(&sanitise(text), suffix, *max), *want, "{text}");
        }
        let named = |base: &str| Names {
            base: sanitise(base),
            target_group_key: "8080,vpc-1".into(),
            internal_alb: false,
        };
        let n = named(&long);
        for (name, max) in [
            (n.target_group(), TARGET_GROUP_MAX),
            (n.alternate_target_group(), TARGET_GROUP_MAX),
            (n.load_balancer(), LOAD_BALANCER_MAX),
            (n.service(), SERVICE_MAX),
            (n.family(), FAMILY_MAX),
            (n.log_group(), LOG_GROUP_MAX),
        ] {
            assert!(name.len() <= max, "{name}: {} > {max}", name.len());
            assert!(!name.starts_with('-') && !name.ends_with('-'), "{name}");
        }
        let tg = n.target_group();
        assert_eq!(tg.len(), 32, "{tg}");
        assert!(tg.ends_with("-tg"), "{tg}");
        assert_eq!(
            named("shop").target_group(),
            format!("shop-tg-{}", &hash8("8080,vpc-1")[..6])
        );
        // Same prefix, another branch: another name.
        let other = named(&format!("{long}x"));
        assert_ne!(tg, other.target_group());
        assert_eq!(tg, named(&long).target_group(), "stable");
        // Another port (create-only): other target group names, as a replacement needs.
        let moved = Names {
            target_group_key: "9090,vpc-1".into(),
            ..named(&long)
        };
        assert_ne!(tg, moved.target_group());
        assert_ne!(n.alternate_target_group(), moved.alternate_target_group());
        // Another scheme (create-only): another load balancer name.
        let internal = Names {
            internal_alb: true,
            ..named("shop")
        };
        assert_eq!(named("shop").load_balancer(), "shop-alb");
        assert_eq!(internal.load_balancer(), "shop-int-alb");
    }
}
