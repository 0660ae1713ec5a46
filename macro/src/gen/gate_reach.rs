//! How the load-test gate reaches the App's own tasks (README, "What the macro emits for the
//! gate"): with `Failover`, a listener rule that only the gate's header matches, forwarding to
//! the App's target group past the weighted route; behind an ALB the provider Lambda cannot
//! reach, worker functions in the App's subnets.

use super::alb::{security_group_of, RoutingOut, LISTENER_RULE_TYPE};
use super::{Ids, Out, Settings};
use crate::intrinsics::{get_att, ref_};
use crate::reader::Val;
use crate::spec::{load_from_vpc, App, Dynamic, Routing};
use serde_json::{json, Value};

/// The header only the gate sends (ALB header names: at most 40 characters).
pub const ROUTING_HEADER: &str = "X-FargateApp-Gate";
/// The App part of the header value is cut to this, leaving room for `-<stack UUID>` within
/// ALB's 128 characters per value.
const TOKEN_APP_MAX: usize = 64;
/// Tag on the workers function; the provider's role may invoke functions carrying it.
pub const WORKERS_TAG: &str = "fargate-app:load-test-workers";
/// 1769 MB is one full vCPU (the engine's sender and receiver threads).
const WORKERS_MEMORY: u64 = 1769;
/// A worker runs `WarmUp + Duration` and must outlast it: Lambda's maximum.
const WORKERS_TIMEOUT: u64 = 900;

/// `{{resolve:ssm:/<prefix>/<name>}}`: where cfn/provider.yaml publishes its code's location.
pub fn code_parameter(prefix: &str, name: &str) -> String {
    format!("{{{{resolve:ssm:/{prefix}/{name}}}}}")
}

/// What the gate resource gets from here.
#[derive(Debug, Default)]
pub struct GateReach {
    /// `RoutingHeader { Name, Value }`.
    pub routing_header: Option<Value>,
    /// `WorkerFunctionArn`.
    pub worker_function: Option<Value>,
    /// Resources the gate waits for.
    pub depends_on: Vec<String>,
}

pub fn generate(app: &App, settings: &Settings, routing: &RoutingOut, out: &mut Out) -> GateReach {
    let mut reach = GateReach::default();
    let (Some(lt), Some(lb)) = (&app.load_test, &app.load_balancer) else {
        return reach;
    };
    if app.failover.is_some() {
        route(app, settings, routing, out, &mut reach);
    }
    if load_from_vpc(lt, lb) == Some(true) {
        workers(app, settings, routing, out, &mut reach);
    }
    reach
}

/// `<App>-<stack UUID>`: unique per App and stack, known only at deploy time (and, outside the
/// account, not at all).
pub fn token(app_id: &str) -> Value {
    let app: String = app_id.chars().take(TOKEN_APP_MAX).collect();
    json!({ "Fn::Join": ["-", [app, { "Fn::Select": [2, { "Fn::Split": ["/", ref_("AWS::StackId")] }] }]] })
}

/// `<App>LoadTestRoute`: rules are evaluated lowest priority first and the default action last
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html),
/// so the route sits below the App's weighted route. Header values compare case-insensitively
/// with `*` and `?` as wildcards, which App IDs and UUIDs do not contain
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HttpHeaderConditionConfig.html).
fn route(
    app: &App,
    settings: &Settings,
    routing: &RoutingOut,
    out: &mut Out,
    reach: &mut GateReach,
) {
    let Some(lb) = &app.load_balancer else { return };
    let ids = Ids(&app.id);
    let id = ids.of("LoadTestRoute");
    let tg = ref_(&ids.of("TargetGroup"));
    let header = json!({ "Field": "http-header", "HttpHeaderConfig": {
        "HttpHeaderName": ROUTING_HEADER, "Values": [token(&app.id)] } });
    match &lb.routing {
        Routing::SharedRule {
            listener,
            paths,
            hosts,
            priority: Dynamic::Fixed(Val::Lit(n)),
            ..
        } => {
            let mut conditions = Vec::new();
            if !paths.is_empty() {
                conditions.push(json!({ "Field": "path-pattern", "PathPatternConfig": { "Values": paths.iter().map(Val::json).collect::<Vec<_>>() } }));
            }
            if !hosts.is_empty() {
                conditions.push(json!({ "Field": "host-header", "HostHeaderConfig": { "Values": hosts.iter().map(Val::json).collect::<Vec<_>>() } }));
            }
            conditions.push(header);
            out.add(
                id.clone(),
                LISTENER_RULE_TYPE,
                json!({
                    "ServiceToken": settings.service_token,
                    "ListenerArn": listener.json(),
                    "TargetGroupArn": tg,
                    "Conditions": conditions,
                    "PriorityRange": format!("1-{}", n - 1),
                }),
            );
        }
        // Validation refuses any other priority with Failover and LoadTest.
        Routing::SharedRule { .. } => return,
        Routing::Dedicated { .. } | Routing::SharedPort { .. } => {
            let Some(listener) = &routing.listener_arn else {
                return;
            };
            out.add(
                id.clone(),
                "AWS::ElasticLoadBalancingV2::ListenerRule",
                json!({
                    "ListenerArn": listener,
                    "Priority": 1,
                    "Conditions": [header],
                    "Actions": [{ "Type": "forward", "TargetGroupArn": tg }],
                }),
            );
        }
    }
    reach.routing_header = Some(json!({ "Name": ROUTING_HEADER, "Value": token(&app.id) }));
    reach.depends_on.push(id);
}

/// Worker functions in the App's subnets, running the provider's own code (its stack exports
/// where that is), with a security group the ALB's group admits.
fn workers(
    app: &App,
    settings: &Settings,
    routing: &RoutingOut,
    out: &mut Out,
    reach: &mut GateReach,
) {
    let Some(lb) = &app.load_balancer else { return };
    let ids = Ids(&app.id);
    // SSM parameters the provider stack writes, not exports: an export another stack imports
    // cannot change, and the code's key changes with every provider release. An unversioned
    // `ssm` reference takes the parameter's latest value on each stack update.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-ssm.html
    let export = |name: &str| json!(code_parameter(&settings.export_prefix, name));
    let alb_sg = security_group_of(app, lb);
    // The listener the gate connects to; a shared listener's port is not in the template, so
    // then any TCP port of the ALB's group (the ALB only answers on its listeners).
    let (from_port, to_port) = match &routing.listener_port {
        Some(p) => (p.clone(), p.clone()),
        None => (json!(0), json!(65535)),
    };
    let role = ids.of("LoadTestWorkersRole");
    out.add(
        role.clone(),
        "AWS::IAM::Role",
        json!({
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }],
            },
            // Network interfaces and logs only: a worker calls no AWS API.
            "ManagedPolicyArns": [{ "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole" }],
            "Tags": super::tag_list(app),
        }),
    );
    let sg = ids.of("LoadTestWorkersSecurityGroup");
    out.add(
        sg.clone(),
        "AWS::EC2::SecurityGroup",
        json!({
            "GroupDescription": format!("{} load-test workers", app.id),
            "VpcId": app.network.vpc_id.as_ref().map(Val::json),
            // Egress given replaces the default allow-all. DNS needs no rule: security groups
            // do not filter the Route 53 Resolver
            // (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/security-group-rules.html).
            "SecurityGroupEgress": [{
                "Description": format!("to {}'s load balancer", app.id),
                "IpProtocol": "tcp", "FromPort": from_port, "ToPort": to_port,
                "DestinationSecurityGroupId": alb_sg,
            }],
            "Tags": super::tag_list(app),
        }),
    );
    let ingress = ids.of("LoadTestWorkersIngress");
    out.add(
        ingress.clone(),
        "AWS::EC2::SecurityGroupIngress",
        json!({
            "Description": format!("load-test workers of {}", app.id),
            "GroupId": alb_sg,
            "IpProtocol": "tcp",
            "FromPort": from_port,
            "ToPort": to_port,
            "SourceSecurityGroupId": get_att(&sg, "GroupId"),
        }),
    );
    let mut tags = match super::tag_list(app) {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    tags.push(json!({ "Key": WORKERS_TAG, "Value": "true" }));
    let function = ids.of("LoadTestWorkers");
    out.add(
        function.clone(),
        "AWS::Lambda::Function",
        json!({
            "Description": format!("Load-test workers of {} (the FargateApp provider's code)", app.id),
            "Runtime": "provided.al2023",
            "Handler": "bootstrap",
            "Code": { "S3Bucket": export("CodeBucket"), "S3Key": export("CodeKey") },
            "Architectures": [export("Architecture")],
            "MemorySize": WORKERS_MEMORY,
            "Timeout": WORKERS_TIMEOUT,
            "Role": get_att(&role, "Arn"),
            "VpcConfig": {
                "SubnetIds": app.network.subnets.as_ref().map(|s| s.json()),
                "SecurityGroupIds": [get_att(&sg, "GroupId")],
            },
            "Tags": tags,
        }),
    );
    reach.worker_function = Some(get_att(&function, "Arn"));
    reach.depends_on.push(function);
    reach.depends_on.push(ingress);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ALB header condition values are at most 128 characters: a logical ID may have 255, and a
    /// stack ID's UUID 36.
    /// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HttpHeaderConditionConfig.html
    #[test]
    fn the_token_fits_an_alb_header_value() {
        let long = "A".repeat(255);
        let t = token(&long);
        let app = t["Fn::Join"][1][0].as_str().unwrap();
        assert_eq!(app.len(), TOKEN_APP_MAX);
        assert!(app.len() + 1 + 36 <= 128);
        assert!(ROUTING_HEADER.len() <= 40);
        assert_eq!(token("Api")["Fn::Join"][1][0], "Api");
    }
}
