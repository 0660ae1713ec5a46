//! Cloud Map: the app registers as `Name.Namespace`, so peers reach it by name.

use super::{namespace_ref, Ids, Out, Shared};
use crate::reader::Val;
use crate::spec::{App, NamespaceRef};
use serde_json::json;

pub fn generate(app: &App, shared: &mut Shared, out: &mut Out) {
    let Some(d) = &app.discovery else { return };
    if let NamespaceRef::Create { name } = &d.namespace {
        let id = Shared::namespace_id(name);
        if !shared.namespaces.iter().any(|(i, _, _)| i == &id) {
            let vpc = app
                .network
                .vpc_id
                .as_ref()
                .map(Val::json)
                .unwrap_or_default();
            shared.namespaces.push((id, name.clone(), vpc));
        }
    }
    out.add(
        Ids(&app.id).of("DiscoveryService"),
        "AWS::ServiceDiscovery::Service",
        json!({
            "Name": d.name.json(),
            "NamespaceId": namespace_ref(&d.namespace),
            "DnsConfig": {
                "DnsRecords": [{ "Type": "A", "TTL": d.ttl.json() }],
                "RoutingPolicy": "MULTIVALUE",
            },
            "HealthCheckCustomConfig": { "FailureThreshold": 1 },
        }),
    );
}
