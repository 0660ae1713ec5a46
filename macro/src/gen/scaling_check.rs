//! `ScalingCheck` -> `Custom::FargateScalingCheck`: the provider loads the App's URL and reads
//! the service's counts (`provider/src/scaling_check.rs`). It is created after the service, the
//! scalable target and every scaling policy of the App (`DependsOn`: a check that started before
//! the policy existed would wait for a scale-out nothing can make), and after the listener rule
//! that routes to the App. It runs on Create; on Update only with `Run: OnChange` and a changed
//! `RunToken`: its other properties do not make it run again.

use super::alb::RoutingOut;
use super::{cluster_ref, depends_on, Ids, Out, Settings};
use crate::intrinsics::{get_att, SubBuilder};
use crate::reader::Val;
use crate::spec::App;
use serde_json::{json, Map, Value};

pub const SCALING_CHECK_TYPE: &str = "Custom::FargateScalingCheck";

pub fn generate(app: &App, settings: &Settings, routing: &RoutingOut, out: &mut Out) {
    let (Some(sc), Some(scaling), Some(origin)) =
        (&app.scaling_check, &app.scaling, &routing.origin)
    else {
        return;
    };
    let ids = Ids(&app.id);
    let mut deps = vec![ids.of("Service"), ids.of("ScalableTarget")];
    deps.extend(
        out.items
            .iter()
            .filter(|(id, r)| {
                id.starts_with(&app.id) && r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"
            })
            .map(|(id, _)| id.clone()),
    );
    deps.extend(routing.attached_by.iter().cloned());
    let mut p = Map::new();
    p.insert("ServiceToken".into(), settings.service_token.clone());
    p.insert(
        "Url".into(),
        SubBuilder::new()
            .value("Url", origin)
            .value("Path", &sc.path.json())
            .build(),
    );
    p.insert("Rate".into(), sc.rate.json());
    p.insert("Duration".into(), json!(sc.duration));
    p.insert("ExpectDesired".into(), sc.expect_desired.json());
    p.insert("Within".into(), json!(sc.within));
    if let Some(r) = sc.return_within {
        p.insert("ReturnWithin".into(), json!(r));
    }
    p.insert("MinCapacity".into(), scaling.min.json());
    p.insert("Cluster".into(), cluster_ref(app));
    p.insert("ServiceName".into(), get_att(&ids.of("Service"), "Name"));
    p.insert(
        "Run".into(),
        json!(if sc.on_change { "OnChange" } else { "OnCreate" }),
    );
    if let Some(t) = &sc.run_token {
        p.insert("RunToken".into(), Val::json(t));
    }
    let r = out.add(ids.of("ScalingCheck"), SCALING_CHECK_TYPE, Value::Object(p));
    depends_on(r, &deps);
}
