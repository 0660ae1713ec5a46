//! `Discovery`: Cloud Map registration as `Name.Namespace`.

use super::TemplateCtx;
use crate::reader::{path, Reader, Val};
use serde_json::Value;

/// Keys of `Discovery`.
pub const DISCOVERY_KEYS: &[&str] = &["Name", "Namespace", "NamespaceName", "Ttl"];

#[derive(Debug, Clone)]
pub struct Discovery {
    pub name: Val<String>,
    pub namespace: NamespaceRef,
    pub ttl: Val<u64>,
}

#[derive(Debug, Clone)]
pub enum NamespaceRef {
    /// An existing namespace by ID; its DNS name, when given, makes `DiscoveryName` available.
    Existing {
        id: Val<String>,
        name: Option<String>,
    },
    /// A private DNS namespace created once per template for this name.
    Create { name: String },
}

pub(super) fn read_discovery(
    r: &mut Reader,
    p: &str,
    v: &Value,
    ctx: &TemplateCtx,
) -> Option<Discovery> {
    let m = r.object(p, v, DISCOVERY_KEYS)?;
    let name = match m.get("Name") {
        Some(v) => match r.nonempty(&path(p, "Name"), v) {
            Some(Val::Lit(s)) if !valid_dns_label(&s) => {
                r.err(
                    &path(p, "Name"),
                    format!("'{s}' is not a DNS label (letters, digits and -, at most 63)"),
                );
                None
            }
            other => other,
        },
        None => {
            r.err(
                &path(p, "Name"),
                "required: the name peers use, as NAME.NAMESPACE",
            );
            None
        }
    };
    let ns_name = m.get("NamespaceName").and_then(|v| match r.nonempty(&path(p, "NamespaceName"), v) {
        Some(Val::Lit(s)) if s.split('.').all(valid_dns_label) => Some(s),
        Some(Val::Lit(s)) => {
            r.err(&path(p, "NamespaceName"), format!("'{s}' is not a DNS name"));
            None
        }
        Some(Val::Expr(_)) => {
            r.err(&path(p, "NamespaceName"), "must be a literal name (it names a namespace created by the macro, or is joined into DiscoveryName)");
            None
        }
        None => None,
    });
    // A private DNS namespace of this template names itself.
    let ns_name = ns_name.or_else(|| {
        let (id, _) = ctx.referenced(m.get("Namespace")?)?;
        if ctx.resource_type(id) != Some("AWS::ServiceDiscovery::PrivateDnsNamespace") {
            return None;
        }
        ctx.resource_prop(id, "Name")?.as_str().map(String::from)
    });
    let namespace = match (m.get("Namespace"), ns_name) {
        (Some(v), name) => NamespaceRef::Existing {
            id: r.nonempty(&path(p, "Namespace"), v)?,
            name,
        },
        (None, Some(name)) => NamespaceRef::Create { name },
        (None, None) => {
            if !m.contains_key("NamespaceName") {
                r.err(&path(p, "Namespace"), "give Namespace (an existing namespace ID) or NamespaceName (a private DNS namespace created with the stack)");
            }
            return None;
        }
    };
    let ttl = m
        .get("Ttl")
        .and_then(|v| r.int(&path(p, "Ttl"), v, 0, 2_147_483_647))
        .unwrap_or(Val::Lit(10));
    Some(Discovery {
        name: name?,
        namespace,
        ttl,
    })
}

pub(super) fn valid_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
