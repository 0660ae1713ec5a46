//! Log group, the tasks' security group, task definition and ECS service.

use super::alb::RoutingOut;
use super::{cluster_ref, depends_on, tag_list, Ids, Out};
use crate::intrinsics::{get_att, ref_};
use crate::reader::Val;
use crate::spec::{AllowFrom, App};
use serde_json::{json, Value};

pub fn log_group(app: &App, out: &mut Out) {
    if app.task_definition.is_some() {
        return; // the given revision's log configuration says where its logs go
    }
    out.add(
        Ids(&app.id).of("LogGroup"),
        "AWS::Logs::LogGroup",
        json!({
            "LogGroupName": app.names.as_ref().map(|n| n.log_group()),
            "RetentionInDays": app.log_retention_days.json(),
            "Tags": tag_list(app),
        }),
    );
}

fn all_ports(app: &App) -> Vec<Value> {
    std::iter::once(&app.port)
        .chain(app.extra_ports.iter())
        .map(Val::json)
        .collect()
}

/// The tasks' security group: the ALB reaches the container port; peers named in
/// `Network.AllowFrom` reach every port of the app.
pub fn security_group(app: &App, out: &mut Out) {
    let ids = Ids(&app.id);
    let mut ingress = Vec::new();
    if let Some(lb) = &app.load_balancer {
        ingress.push(json!({
            "Description": "from the load balancer",
            "IpProtocol": "tcp",
            "FromPort": app.port.json(),
            "ToPort": app.port.json(),
            "SourceSecurityGroupId": super::alb::security_group_of(app, lb),
        }));
    }
    for peer in &app.network.allow_from {
        for port in all_ports(app) {
            match peer {
                AllowFrom::Cidr(c) => ingress.push(json!({ "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": c })),
                AllowFrom::SecurityGroup(sg) => ingress.push(json!({ "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "SourceSecurityGroupId": sg })),
                AllowFrom::App(_) => {}
            }
        }
    }
    out.add(ids.of("SecurityGroup"), "AWS::EC2::SecurityGroup", json!({
        "GroupDescription": format!("{} tasks", app.id),
        "VpcId": app.network.vpc_id.as_ref().map(Val::json),
        "SecurityGroupIngress": if ingress.is_empty() { Value::Null } else { Value::Array(ingress) },
        "SecurityGroupEgress": [{ "Description": "all outbound", "IpProtocol": "-1", "CidrIp": "0.0.0.0/0" }],
        "Tags": tag_list(app),
    }));
    // A shared ALB's group may allow no egress (the CDK makes ALB groups without allow-all
    // outbound): open the path to the tasks from its side too.
    if let Some(lb) = &app.load_balancer {
        if !matches!(lb.routing, crate::spec::Routing::Dedicated { .. }) {
            out.add(
                ids.of("LoadBalancerEgress"),
                "AWS::EC2::SecurityGroupEgress",
                json!({
                    "Description": format!("to {} tasks", app.id),
                    "GroupId": super::alb::security_group_of(app, lb),
                    "DestinationSecurityGroupId": get_att(&ids.of("SecurityGroup"), "GroupId"),
                    "IpProtocol": "tcp",
                    "FromPort": app.port.json(),
                    "ToPort": app.port.json(),
                }),
            );
        }
    }
    // Peer apps get separate ingress resources: two apps allowing each other would otherwise
    // make their security groups depend on each other.
    for peer in &app.network.allow_from {
        if let AllowFrom::App(other) = peer {
            for (i, port) in all_ports(app).into_iter().enumerate() {
                let suffix = if i == 0 {
                    format!("IngressFrom{other}")
                } else {
                    format!("IngressFrom{other}{}", i + 1)
                };
                out.add(ids.of(&suffix), "AWS::EC2::SecurityGroupIngress", json!({
                    "Description": format!("from {other}"),
                    "GroupId": get_att(&ids.of("SecurityGroup"), "GroupId"),
                    "SourceSecurityGroupId": get_att(&Ids(other).of("SecurityGroup"), "GroupId"),
                    "IpProtocol": "tcp",
                    "FromPort": port,
                    "ToPort": port,
                }));
            }
        }
    }
}

/// What the service runs: the App's own task definition, or the revision `TaskDefinition` names.
pub fn task_definition_ref(app: &App) -> Value {
    match &app.task_definition {
        Some(td) => td.arn.clone(),
        None => ref_(&Ids(&app.id).of("TaskDefinition")),
    }
}

/// The container the load balancer sends to: the App's own (named after the App), or
/// `ContainerName` of a given revision.
fn container_name(app: &App) -> Value {
    match app
        .task_definition
        .as_ref()
        .and_then(|t| t.container_name.as_ref())
    {
        Some(n) => n.json(),
        None => Value::String(app.id.clone()),
    }
}

pub fn task_definition(app: &App, out: &mut Out) {
    if app.task_definition.is_some() {
        return; // a revision that exists: nothing to register
    }
    let ids = Ids(&app.id);
    let env: Vec<Value> = app
        .environment
        .iter()
        .map(|(k, v)| json!({ "Name": k, "Value": v }))
        .collect();
    let secrets: Vec<Value> = app
        .secrets
        .iter()
        .map(|s| json!({ "Name": s.name, "ValueFrom": s.value_from }))
        .collect();
    let health = app.health_check.as_ref().map(|h| {
        json!({
            "Command": h.command,
            "Interval": h.interval.as_ref().map(Val::json),
            "Timeout": h.timeout.as_ref().map(Val::json),
            "Retries": h.retries.as_ref().map(Val::json),
            "StartPeriod": h.start_period.as_ref().map(Val::json),
        })
    });
    let mut ports: Vec<Value> = all_ports(app)
        .into_iter()
        .map(|p| json!({ "ContainerPort": p, "Protocol": "tcp" }))
        .collect();
    super::service_connect::name_port_mapping(app, &mut ports);
    let container = json!({
        "Name": app.id,
        "Image": app.image.json(),
        "Essential": true,
        "PortMappings": ports,
        "Command": app.command,
        "EntryPoint": app.entry_point,
        "Environment": if env.is_empty() { Value::Null } else { Value::Array(env) },
        "Secrets": if secrets.is_empty() { Value::Null } else { Value::Array(secrets) },
        "HealthCheck": health,
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": ref_(&ids.of("LogGroup")),
                "awslogs-region": ref_("AWS::Region"),
                "awslogs-stream-prefix": app.id,
            }
        },
    });
    out.add(ids.of("TaskDefinition"), "AWS::ECS::TaskDefinition", json!({
        "Family": app.names.as_ref().map(|n| n.family()),
        "RequiresCompatibilities": ["FARGATE"],
        "NetworkMode": "awsvpc",
        "Cpu": app.cpu.json_string(),
        "Memory": app.memory.json_string(),
        "RuntimePlatform": { "CpuArchitecture": app.architecture.json(), "OperatingSystemFamily": "LINUX" },
        "ExecutionRoleArn": get_att(&ids.of("ExecutionRole"), "Arn"),
        "TaskRoleArn": get_att(&ids.of("TaskRole"), "Arn"),
        "ContainerDefinitions": [container],
        "Tags": tag_list(app),
    }));
}

/// The count the service is created with: the template's, or the scaling minimum, or 0 for a
/// failover standby (it is scaled up when the alarm fires), or 1.
pub fn resting_count(app: &App) -> Value {
    if let Some(d) = &app.desired_count {
        return d.json();
    }
    if let Some(s) = &app.scaling {
        return s.min.json();
    }
    if app.failover.is_some() {
        return json!(0);
    }
    json!(1)
}

/// The App's tags, plus one naming a conditional listener (see `RoutingOut`).
fn service_tags(app: &App, routing: &RoutingOut) -> Value {
    let mut tags = tag_list(app).map(|t| match t {
        Value::Array(a) => a,
        _ => Vec::new(),
    });
    if let Some(listener) = &routing.conditional_attachment {
        let tag = match listener.get("Fn::If") {
            Some(Value::Array(a)) if a.len() == 3 => {
                let entry = |v: &Value| {
                    if v.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
                        v.clone()
                    } else {
                        json!({ "Key": "fargate-app:https-listener", "Value": v })
                    }
                };
                json!({ "Fn::If": [a[0], entry(&a[1]), entry(&a[2])] })
            }
            _ => json!({ "Key": "fargate-app:https-listener", "Value": listener }),
        };
        tags.get_or_insert_with(Vec::new).push(tag);
    }
    tags.map(Value::Array).unwrap_or(Value::Null)
}

/// ECS wants `ENABLED`/`DISABLED` where users write booleans, also inside `Fn::If` branches.
fn enabled(v: &Value) -> Value {
    match v {
        Value::Bool(true) => json!("ENABLED"),
        Value::Bool(false) => json!("DISABLED"),
        Value::String(s) if s == "true" => json!("ENABLED"),
        Value::String(s) if s == "false" => json!("DISABLED"),
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::If") => match &m["Fn::If"] {
            Value::Array(a) if a.len() == 3 => {
                json!({ "Fn::If": [a[0], enabled(&a[1]), enabled(&a[2])] })
            }
            other => json!({ "Fn::If": other }),
        },
        other => other.clone(),
    }
}

pub fn service(app: &App, routing: &RoutingOut, out: &mut Out) {
    let ids = Ids(&app.id);
    let mut security_groups = vec![get_att(&ids.of("SecurityGroup"), "GroupId")];
    let mut extra_sgs = Value::Null;
    match &app.network.security_groups {
        Some(crate::reader::ListVal::Items(items)) => security_groups.extend(items.iter().cloned()),
        Some(crate::reader::ListVal::Expr(e)) => extra_sgs = e.clone(),
        None => {}
    }
    let security_groups = if extra_sgs.is_null() {
        Value::Array(security_groups)
    } else {
        // A list parameter of security groups: join ours in front of it.
        json!({ "Fn::Split": [",", { "Fn::Join": [",", [security_groups[0], { "Fn::Join": [",", extra_sgs] }]] }] })
    };
    let assign_public_ip = match &app.network.assign_public_ip {
        Val::Lit(b) => enabled(&json!(b)),
        Val::Expr(e) => enabled(e),
    };
    let (launch_type, strategy) = match &app.spot {
        None => (json!("FARGATE"), Value::Null),
        Some(s) => (
            Value::Null,
            json!([
                { "CapacityProvider": "FARGATE", "Base": s.on_demand_base.json(), "Weight": s.on_demand_weight.json() },
                { "CapacityProvider": "FARGATE_SPOT", "Weight": s.spot_weight.json() },
            ]),
        ),
    };
    let load_balancers = routing.target_group.as_ref().map(|tg| {
        json!([{
            "ContainerName": container_name(app),
            "ContainerPort": app.port.json(),
            "TargetGroupArn": ref_(tg),
        }])
    });
    let d = &app.deployment;
    let alarms = d
        .alarms
        .as_ref()
        .map(|a| json!({ "AlarmNames": a.json(), "Enable": true, "Rollback": true }));
    let registries = app
        .discovery
        .as_ref()
        .map(|_| json!([{ "RegistryArn": get_att(&ids.of("DiscoveryService"), "Arn") }]));
    let grace = app.load_balancer.as_ref().map(|lb| {
        lb.health_check
            .grace_period
            .as_ref()
            .map(Val::json)
            .unwrap_or(json!(60))
    });
    let r = out.add(ids.of("Service"), "AWS::ECS::Service", json!({
        "ServiceName": app.names.as_ref().map(|n| n.service()),
        "Cluster": cluster_ref(app),
        "TaskDefinition": task_definition_ref(app),
        // Absent unless the user sets it: ECS starts a new service at 1 and an update leaves
        // the running count alone (Scaling's MinCapacity or the failover resource set it).
        // With Failover the count travels as the failover resource's `RestingCount`: written
        // here too, every stack update would re-apply it over the provider's count.
        "DesiredCount": app.desired_count.as_ref().filter(|_| app.failover.is_none()).map(Val::json),
        "LaunchType": launch_type,
        "CapacityProviderStrategy": strategy,
        "PlatformVersion": "LATEST",
        "NetworkConfiguration": { "AwsvpcConfiguration": {
            "Subnets": app.network.subnets.as_ref().map(|s| s.json()),
            "SecurityGroups": security_groups,
            "AssignPublicIp": assign_public_ip,
        }},
        "LoadBalancers": load_balancers,
        "HealthCheckGracePeriodSeconds": grace,
        "ServiceRegistries": registries,
        "DeploymentConfiguration": {
            "MinimumHealthyPercent": d.min_healthy_percent.as_ref().map(Val::json).unwrap_or(json!(100)),
            "MaximumPercent": d.max_percent.as_ref().map(Val::json).unwrap_or(json!(200)),
            "DeploymentCircuitBreaker": { "Enable": d.circuit_breaker.json(), "Rollback": d.circuit_breaker.json() },
            "Alarms": alarms,
        },
        "EnableExecuteCommand": app.execute_command.json(),
        "EnableECSManagedTags": true,
        "PropagateTags": "SERVICE",
        "Tags": service_tags(app, routing),
    }));
    // The target group must be attached to a listener before the service registers into it.
    if let Some(dep) = &routing.attached_by {
        depends_on(r, std::slice::from_ref(dep));
    }
}
