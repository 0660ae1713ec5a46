//! `PostCreate`: a `Custom::FargatePostCreate` that the provider answers by invoking the user's
//! function once (`provider/src/post_create.rs`). It depends on the service, which CloudFormation
//! reports created only once the service is stable, and on the gate when there is one, so the
//! function runs against an environment that serves.
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html

use super::alb::RoutingOut;
use super::{cluster_ref, depends_on, Ids, Out, Settings};
use crate::intrinsics::get_att;
use crate::spec::App;
use serde_json::{Map, Value};

pub const POST_CREATE_TYPE: &str = "Custom::FargatePostCreate";

pub fn generate(app: &App, settings: &Settings, routing: &RoutingOut, out: &mut Out) {
    let Some(pc) = &app.post_create else { return };
    let ids = Ids(&app.id);
    let mut props = Map::new();
    props.insert("ServiceToken".into(), settings.service_token.clone());
    props.insert("FunctionArn".into(), pc.function_arn.json());
    if let Some(p) = &pc.payload {
        props.insert("Payload".into(), p.clone());
    }
    props.insert("Cluster".into(), cluster_ref(app));
    props.insert("ServiceName".into(), get_att(&ids.of("Service"), "Name"));
    if let Some(u) = &routing.url {
        props.insert("Url".into(), u.clone());
    }
    props.insert("RunOnUpdate".into(), pc.run_on_update.json());
    if pc.run_on_update != crate::reader::Val::Lit(false) {
        // A new revision changes this property: each deployment is an Update that runs it.
        props.insert(
            "TaskDefinitionArn".into(),
            super::ecs::task_definition_ref(app),
        );
    }
    let mut deps = vec![ids.of("Service")];
    let gate = ids.of("LoadTestGate");
    if out.items.iter().any(|(id, _)| *id == gate) {
        deps.push(gate);
    }
    let r = out.add(ids.of("PostCreate"), POST_CREATE_TYPE, Value::Object(props));
    depends_on(r, &deps);
}
