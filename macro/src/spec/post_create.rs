//! `PostCreate`: the user's function, run once after the App's service is created and stable
//! (seed 004's deployment Lambda: migrations, data loading), with any strategy, Rolling
//! included: ECS lifecycle hooks exist only for blue/green, linear and canary deployments
//! (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html).
//! The provider invokes it (`provider/src/post_create.rs`).

use crate::reader::{path, Reader, Val};
use serde_json::Value;

pub const POST_CREATE_KEYS: &[&str] = &["FunctionArn", "Payload", "RunOnUpdate"];

#[derive(Debug, Clone)]
pub struct PostCreate {
    pub function_arn: Val<String>,
    /// Passed to the function as `Payload`, as written.
    pub payload: Option<Value>,
    /// Also run on each stack update that changes the task definition (a deployment).
    pub run_on_update: Val<bool>,
}

pub(super) fn read_post_create(r: &mut Reader, p: &str, v: &Value) -> Option<PostCreate> {
    let m = r.object(p, v, POST_CREATE_KEYS)?;
    let run_on_update = m
        .get("RunOnUpdate")
        .and_then(|b| r.boolean(&path(p, "RunOnUpdate"), b))
        .unwrap_or(Val::Lit(false));
    let function_arn = match m.get("FunctionArn") {
        Some(f) => r.nonempty(&path(p, "FunctionArn"), f)?,
        None => {
            r.err(
                &path(p, "FunctionArn"),
                "required: the function to run after the service is created",
            );
            return None;
        }
    };
    // Lambda's Invoke takes a function name, a name with a version or alias, or an ARN.
    // https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    if let Val::Lit(f) = &function_arn {
        if f.starts_with("arn:") && !f.contains(":lambda:") {
            r.err(
                &path(p, "FunctionArn"),
                format!("'{f}' is not a Lambda function ARN"),
            );
        }
    }
    Some(PostCreate {
        function_arn,
        payload: m.get("Payload").cloned(),
        run_on_update,
    })
}
