//! The deployability rules of `deployability.rs`, shared with the generated-template test
//! (`model_generated.rs`) so both run exactly the same checks. See `deployability.rs` for what
//! they are and why they are written in Rust.
#![allow(dead_code)]

use serde_json::{json, Value};

pub fn resources(t: &Value) -> Vec<(&String, &Value)> {
    t.get("Resources")
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

pub fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
        .collect()
}

pub fn props(r: &Value) -> &Value {
    r.get("Properties").unwrap_or(&Value::Null)
}

pub fn resource_type<'a>(t: &'a Value, id: &str) -> Option<&'a str> {
    t["Resources"].get(id)?.get("Type")?.as_str()
}

pub fn single<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object().filter(|m| m.len() == 1)?.get(key)
}

/// Both branches of an `Fn::If`, else the value itself.
pub fn branches(v: &Value) -> Vec<&Value> {
    match single(v, "Fn::If").and_then(Value::as_array) {
        Some(a) if a.len() == 3 => {
            let mut out = branches(&a[1]);
            out.extend(branches(&a[2]));
            out
        }
        _ => vec![v],
    }
}

pub fn is_no_value(v: &Value) -> bool {
    single(v, "Ref").and_then(Value::as_str) == Some("AWS::NoValue")
}

/// Resource types whose `Ref` is an ARN.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html
pub const REF_IS_ARN: &[&str] = &[
    "AWS::SecretsManager::Secret",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::SNS::Topic",
    "AWS::IAM::ManagedPolicy",
];

/// Rule 1: every IAM policy `Resource` is an ARN, or an expression that yields one; `*` only for
/// actions that have no resource type (ecr:GetAuthorizationToken, the ssmmessages channels).
/// An IAM `Resource` that is not an ARN is MalformedPolicyDocument.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
pub fn rule_iam_resources_are_arns(t: &Value) -> Vec<String> {
    let star_ok =
        |action: &str| action == "ecr:GetAuthorizationToken" || action.starts_with("ssmmessages:");
    let mut bad = Vec::new();
    for (id, r) in of_type(t, "AWS::IAM::Role") {
        let Some(policies) = props(r).get("Policies").and_then(Value::as_array) else {
            continue;
        };
        for p in policies {
            let stmts = p["PolicyDocument"]["Statement"].as_array().cloned();
            for s in stmts.unwrap_or_default() {
                let actions: Vec<String> = match &s["Action"] {
                    Value::String(a) => vec![a.clone()],
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect(),
                    _ => vec![],
                };
                let res: Vec<&Value> = match &s["Resource"] {
                    Value::Array(a) => a.iter().collect(),
                    Value::Null => vec![],
                    other => vec![other],
                };
                for v in res {
                    for b in branches(v) {
                        if let Some(text) = arn_text(b).filter(|t| !secret_arn_is_bare(t)) {
                            bad.push(format!("{id}: {text} keeps a JSON-key/version suffix, so it never matches the secret"));
                        }
                        let ok = match b {
                            Value::String(s) if s == "*" => actions.iter().all(|a| star_ok(a)),
                            Value::String(s) => s.starts_with("arn:"),
                            _ => yields_arn(t, b),
                        };
                        if !ok {
                            bad.push(format!(
                                "{id}: Resource {b} is not an ARN (actions {actions:?})"
                            ));
                        }
                    }
                }
            }
        }
    }
    bad
}

/// The ARN text of a literal or an `Fn::Sub`.
pub fn arn_text(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        _ => match single(v, "Fn::Sub")? {
            Value::String(s) => Some(s),
            Value::Array(a) => a.first()?.as_str(),
            _ => None,
        },
    }
}

/// A Secrets Manager ARN in a policy names the secret only (7 fields), without the
/// `:json-key:version-stage:version-id` that `ValueFrom` may carry.
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
pub fn secret_arn_is_bare(text: &str) -> bool {
    let mut fields = 1;
    let mut depth = 0;
    let b = text.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'{' if i > 0 && b[i - 1] == b'$' => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b':' if depth == 0 => fields += 1,
            _ => {}
        }
    }
    // `${Secret}:password::`: the Ref is the secret's ARN, and the rest a JSON-key suffix.
    let suffixed_ref = text.starts_with("${")
        && text
            .split_once('}')
            .is_some_and(|(_, rest)| rest.starts_with(':'));
    !suffixed_ref && (!text.contains(":secretsmanager:") || fields <= 7)
}

pub fn yields_arn(t: &Value, v: &Value) -> bool {
    if is_no_value(v) {
        return true;
    }
    if let Some(name) = single(v, "Ref").and_then(Value::as_str) {
        // A template parameter is the user's declared ARN; a resource must be one whose Ref
        // is an ARN.
        return t["Parameters"].get(name).is_some()
            || resource_type(t, name).is_some_and(|ty| REF_IS_ARN.contains(&ty));
    }
    if let Some(a) = single(v, "Fn::GetAtt").and_then(Value::as_array) {
        return a
            .get(1)
            .and_then(Value::as_str)
            .is_some_and(|x| x.ends_with("Arn"));
    }
    if single(v, "Fn::ImportValue").is_some() {
        return true;
    }
    let sub_text = match single(v, "Fn::Sub") {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Array(a)) => a.first().and_then(Value::as_str),
        _ => None,
    };
    if let Some(text) = sub_text {
        if text.starts_with("arn:") {
            return true;
        }
        // `${Secret}` followed by ARN-safe text, where the Ref is an ARN.
        if let Some(rest) = text.strip_prefix("${") {
            let name = rest.split('}').next().unwrap_or_default();
            return yields_arn(t, &json!({ "Ref": name }));
        }
    }
    false
}

/// Rule 2: every target-group health check has timeout < interval, counting AWS's defaults
/// (interval 30 s, 35 s for Lambda targets; timeout 6 s for HTTP, 10 s for HTTPS, 30 s for Lambda).
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
pub fn rule_health_check_timeout_below_interval(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (id, r) in of_type(t, "AWS::ElasticLoadBalancingV2::TargetGroup") {
        let p = props(r);
        let lambda = p["TargetType"] == "lambda";
        let https = p["HealthCheckProtocol"] == "HTTPS"
            || (p["HealthCheckProtocol"].is_null() && p["Protocol"] == "HTTPS");
        let interval = match &p["HealthCheckIntervalSeconds"] {
            Value::Null => Some(if lambda { 35 } else { 30 }),
            v => v.as_u64(),
        };
        let timeout = match &p["HealthCheckTimeoutSeconds"] {
            Value::Null => Some(if lambda {
                30
            } else if https {
                10
            } else {
                6
            }),
            v => v.as_u64(),
        };
        if let (Some(i), Some(to)) = (interval, timeout) {
            if to >= i {
                bad.push(format!(
                    "{id}: health-check timeout {to} s is not below interval {i} s"
                ));
            }
        }
    }
    bad
}

/// Rule 3: every created ALB has at least two subnets where they are literal.
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#availability-zones
pub fn rule_alb_two_subnets(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (id, r) in of_type(t, "AWS::ElasticLoadBalancingV2::LoadBalancer") {
        if let Some(a) = props(r)["Subnets"].as_array() {
            if a.len() < 2 {
                bad.push(format!(
                    "{id}: {} subnet(s); an ALB needs two Availability Zones",
                    a.len()
                ));
            }
        }
    }
    bad
}

pub fn references(v: &Value, out: &mut Vec<String>) {
    if let Some(s) = single(v, "Ref").and_then(Value::as_str) {
        out.push(s.to_string());
    }
    if let Some(a) = single(v, "Fn::GetAtt").and_then(Value::as_array) {
        if let Some(s) = a.first().and_then(Value::as_str) {
            out.push(s.to_string());
        }
    }
    match v {
        Value::Object(m) => m.values().for_each(|x| references(x, out)),
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

/// Rule 4: no `DesiredCount` on a service that Application Auto Scaling scales: CloudFormation
/// re-applies a template count on every update, undoing the scaling.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html#cfn-ecs-service-desiredcount
pub fn rule_no_desired_count_with_scaling(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (id, r) in of_type(t, "AWS::ApplicationAutoScaling::ScalableTarget") {
        let mut refs = Vec::new();
        references(&props(r)["ResourceId"], &mut refs);
        for svc in refs {
            if resource_type(t, &svc) == Some("AWS::ECS::Service")
                && !t["Resources"][&svc]["Properties"]["DesiredCount"].is_null()
            {
                bad.push(format!("{svc}: DesiredCount set while {id} scales it"));
            }
        }
    }
    bad
}

/// Rule 5: every load-balancer source allowed into a task security group can send to it: a
/// security group made in the template without `SecurityGroupEgress` allows all egress; any
/// other (a shared ALB's group) needs an `AWS::EC2::SecurityGroupEgress` to the task group.
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-update-security-groups.html
pub fn rule_alb_egress_to_tasks(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (svc_id, svc) in of_type(t, "AWS::ECS::Service") {
        let p = props(svc);
        let Some(lbs) = p["LoadBalancers"].as_array() else {
            continue;
        };
        if lbs.is_empty() {
            continue;
        }
        let task_sg = &p["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"][0];
        let Some(task_sg_id) = single(task_sg, "Fn::GetAtt")
            .and_then(|a| a[0].as_str())
            .filter(|_| task_sg.is_object())
        else {
            continue;
        };
        let ingress = t["Resources"][task_sg_id]["Properties"]["SecurityGroupIngress"].clone();
        let port = &lbs[0]["ContainerPort"];
        for rule in ingress.as_array().cloned().unwrap_or_default() {
            if rule["Description"] != "from the load balancer" {
                continue;
            }
            let src = &rule["SourceSecurityGroupId"];
            let made_here = single(src, "Fn::GetAtt")
                .and_then(|a| a[0].as_str())
                .filter(|id| resource_type(t, id) == Some("AWS::EC2::SecurityGroup"));
            if let Some(sg) = made_here {
                if t["Resources"][sg]["Properties"]["SecurityGroupEgress"].is_null() {
                    continue;
                }
            }
            let has_egress = of_type(t, "AWS::EC2::SecurityGroupEgress")
                .iter()
                .any(|(_, e)| {
                    let e = props(e);
                    &e["GroupId"] == src
                        && &e["DestinationSecurityGroupId"] == task_sg
                        && &e["FromPort"] == port
                });
            if !has_egress {
                bad.push(format!(
                    "{svc_id}: no egress from {src} to {task_sg_id} on port {port}"
                ));
            }
        }
    }
    bad
}

/// Rule 6: every resource an App with a `Condition` generates carries a condition, and every
/// condition a resource names exists. `Condition` on an App must switch off all of it.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
pub fn rule_app_condition_everywhere(input: &Value, t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let conditions = t.get("Conditions").cloned().unwrap_or(json!({}));
    for (id, r) in resources(t) {
        if let Some(c) = r.get("Condition").and_then(Value::as_str) {
            if conditions.get(c).is_none() {
                bad.push(format!("{id}: Condition {c} is not in Conditions"));
            }
        }
    }
    let inputs = resources(input);
    let apps: Vec<&Value> = inputs
        .iter()
        .filter(|(_, r)| r["Type"] == "Fargate::App")
        .map(|(_, r)| *r)
        .collect();
    // Shared resources (FargateAppCluster, created namespaces): switched off when every App
    // using them is, kept when any of them keeps its resources.
    let users_of = |id: &str| -> Vec<&Value> {
        apps.iter()
            .copied()
            .filter(|a| {
                let p = &a["Properties"];
                if id == "FargateAppCluster" {
                    p["Cluster"].is_null()
                } else {
                    // Discovery's and Service Connect's namespaces by name.
                    [&p["Discovery"], &p["ServiceConnect"]].iter().any(|x| {
                        x["NamespaceName"]
                            .as_str()
                            .is_some_and(|n| fargate_macro::gen::Shared::namespace_id(n) == id)
                    })
                }
            })
            .collect()
    };
    for (id, r) in resources(t) {
        if !id.starts_with("FargateApp") || inputs.iter().any(|(i, _)| *i == id) {
            continue;
        }
        let users = users_of(id);
        if !users.is_empty()
            && users.iter().all(|a| a.get("Condition").is_some())
            && r.get("Condition").is_none()
        {
            bad.push(format!(
                "{id}: shared by Apps that all have a Condition, but has none"
            ));
        }
        let retains = users.iter().any(|a| {
            a["DeletionPolicy"]
                .as_str()
                .is_some_and(|d| d.starts_with("Retain"))
        });
        if retains && r["DeletionPolicy"] != "Retain" {
            bad.push(format!(
                "{id}: an App using it retains its resources, but it would be deleted"
            ));
        }
    }
    for (app, r) in &inputs {
        if r["Type"] != "Fargate::App" || r.get("Condition").is_none() {
            continue;
        }
        for (id, gen) in resources(t) {
            let generated = id.starts_with(app.as_str()) && !inputs.iter().any(|(i, _)| *i == id);
            if generated && gen.get("Condition").is_none() {
                bad.push(format!(
                    "{id}: generated by {app}, which has a Condition, but has none"
                ));
            }
        }
    }
    bad
}

/// Rule 7: a listener's certificate and protocol agree: no `Certificates` entry that is empty or
/// that a condition can empty (`[{}]` is rejected), a certificate only with HTTPS, and a
/// conditional certificate only with a protocol under the same condition.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticloadbalancingv2-listener.html
pub fn rule_listener_certificate_follows_condition(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (id, r) in of_type(t, "AWS::ElasticLoadBalancingV2::Listener") {
        let p = props(r);
        let certs = &p["Certificates"];
        let proto = &p["Protocol"];
        if certs.is_null() {
            if proto == "HTTPS" {
                bad.push(format!("{id}: HTTPS without a certificate"));
            }
            continue;
        }
        for c in branches(certs) {
            for item in c.as_array().cloned().unwrap_or_default() {
                let arn = &item["CertificateArn"];
                if arn.is_null() || branches(arn).iter().any(|b| is_no_value(b)) {
                    bad.push(format!(
                        "{id}: a certificate entry that can be empty: {item}"
                    ));
                }
            }
        }
        match (single(certs, "Fn::If"), proto) {
            (None, Value::String(p)) if p != "HTTPS" => {
                bad.push(format!("{id}: a certificate on a {p} listener"))
            }
            (Some(ci), _) => {
                let same = single(proto, "Fn::If").is_some_and(|pi| pi[0] == ci[0]);
                if !same {
                    bad.push(format!(
                        "{id}: certificate under {} but Protocol {proto}",
                        ci[0]
                    ));
                }
            }
            _ => {}
        }
    }
    bad
}

/// Rule 8: an EventBridge target `Input` is valid JSON once its substitutions are filled in.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-events-rule-target.html#cfn-events-rule-target-input
pub fn rule_event_input_is_json(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (id, r) in of_type(t, "AWS::Events::Rule") {
        for target in props(r)["Targets"].as_array().cloned().unwrap_or_default() {
            let text = match &target["Input"] {
                Value::String(s) => s.clone(),
                v => match single(v, "Fn::Sub") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(a)) => a[0].as_str().unwrap_or_default().to_string(),
                    _ => continue,
                },
            };
            // Deploy-time values are names and ARNs: stand in a plain word for each.
            let mut filled = String::new();
            let mut rest = text.as_str();
            while let Some(i) = rest.find("${") {
                filled.push_str(&rest[..i]);
                let after = &rest[i + 2..];
                let end = after.find('}').unwrap_or(after.len());
                if let Some(lit) = after[..end].strip_prefix('!') {
                    filled.push_str("${");
                    filled.push_str(lit);
                    filled.push('}');
                } else {
                    filled.push_str("value");
                }
                rest = after.get(end + 1..).unwrap_or("");
            }
            filled.push_str(rest);
            if let Err(e) = serde_json::from_str::<Value>(&filled) {
                bad.push(format!("{id}: Input is not JSON ({e}): {filled}"));
            }
        }
    }
    bad
}

/// Rule 9: Apps add no statements to the shared provider function's resource policy (capped at
/// 20 KB); EventBridge is granted once in cfn/provider.yaml for rules named `FargateApp-*`, so
/// every rule that targets the provider is named with that prefix, within 64 characters.
/// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
/// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
pub fn rule_provider_permission_shared(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (id, r) in of_type(t, "AWS::Lambda::Permission") {
        if props(r)["Principal"] == "events.amazonaws.com"
            && props(r)["FunctionName"].get("Fn::ImportValue").is_some()
        {
            bad.push(format!(
                "{id}: a per-App EventBridge permission on the provider"
            ));
        }
    }
    for (id, r) in of_type(t, "AWS::Events::Rule") {
        let name = &props(r)["Name"];
        let literal_len = |text: &str| {
            // Deploy-time parts are the 12 hex digits of the stack ID's last group.
            text.split("${")
                .enumerate()
                .map(|(i, part)| {
                    if i == 0 {
                        part.len()
                    } else {
                        12 + part.split_once('}').map(|x| x.1.len()).unwrap_or(0)
                    }
                })
                .sum::<usize>()
        };
        let text = match name {
            Value::String(s) => Some(s.clone()),
            v => match single(v, "Fn::Sub") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Array(a)) => a[0].as_str().map(String::from),
                _ => None,
            },
        };
        match text {
            Some(s) if s.starts_with("FargateApp-") && literal_len(&s) <= 64 => {}
            _ => bad.push(format!(
                "{id}: rule Name {name} is not FargateApp-... within 64 characters"
            )),
        }
    }
    bad
}

/// Rule 10: `AssignPublicIp` is `ENABLED` or `DISABLED` in every `Fn::If` branch (ECS rejects
/// booleans there).
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ecs-service-awsvpcconfiguration.html
pub fn rule_assign_public_ip_words(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (id, r) in of_type(t, "AWS::ECS::Service") {
        let v = &props(r)["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"];
        for b in branches(v) {
            let ok = b.is_null()
                || b == "ENABLED"
                || b == "DISABLED"
                || (b.is_object() && single(b, "Fn::If").is_none());
            if !ok {
                bad.push(format!("{id}: AssignPublicIp {b}"));
            }
        }
    }
    bad
}

/// The logical ID a `{"Ref": X}` or `{"Fn::GetAtt": [X, ..]}` names.
pub fn target_of(v: &Value) -> Option<&str> {
    single(v, "Ref")
        .and_then(Value::as_str)
        .or_else(|| single(v, "Fn::GetAtt")?.as_array()?.first()?.as_str())
}

/// The target groups a rule's forward action sends to.
pub fn forwarded_groups(rule: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    for a in props(rule)["Actions"].as_array().into_iter().flatten() {
        if let Some(tg) = a.get("TargetGroupArn").and_then(target_of) {
            out.push(tg);
        }
        for g in a["ForwardConfig"]["TargetGroups"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(tg) = g.get("TargetGroupArn").and_then(target_of) {
                out.push(tg);
            }
        }
    }
    out
}

/// HookDetails' text once deploy-time values are in: an `Fn::Sub` variable (written inside a
/// JSON string by the macro) becomes `x`, `${!` becomes `${`.
pub fn details_text(v: &Value) -> Option<String> {
    let template = match v {
        Value::String(s) => return Some(s.clone()),
        _ => match single(v, "Fn::Sub")? {
            Value::String(t) => t.as_str(),
            Value::Array(a) => a.first()?.as_str()?,
            _ => return None,
        },
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        if let Some(lit) = after.strip_prefix('!') {
            out.push_str("${");
            rest = lit;
        } else {
            let end = after.find('}')?;
            // Inside a JSON string any text will do; a bare value must be a number (the macro
            // writes numeric gate settings unquoted, issue 17).
            out.push(if out.ends_with('"') { 'x' } else { '0' });
            rest = &after[end + 1..];
        }
    }
    out.push_str(rest);
    Some(out)
}

/// Rule 11: blue/green, canary and linear on an ALB. ECS shifts traffic by rewriting listener
/// *rules* that forward to both target groups (a target group must be associated with the ALB
/// for ECS to register green tasks in it), with a role trusted by ecs.amazonaws.com carrying
/// AmazonECSInfrastructureRolePolicyForLoadBalancers; it invokes hooks with a role that may
/// `lambda:InvokeFunction` the hook's function; HookDetails is a JSON object in a string.
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-permissions.html
pub fn rule_traffic_shift_wiring(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let res = |id: &str| t["Resources"].get(id);
    let trusts_ecs = |role: &Value| {
        props(role)["AssumeRolePolicyDocument"]["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["Principal"]["Service"] == json!("ecs.amazonaws.com"))
    };
    for (id, svc) in of_type(t, "AWS::ECS::Service") {
        let p = props(svc);
        let strategy = p["DeploymentConfiguration"]["Strategy"].as_str();
        for lb in p["LoadBalancers"].as_array().into_iter().flatten() {
            let Some(adv) = lb.get("AdvancedConfiguration") else {
                if matches!(strategy, Some("BLUE_GREEN" | "CANARY" | "LINEAR")) {
                    bad.push(format!("{id}: strategy {strategy:?} behind a load balancer without AdvancedConfiguration"));
                }
                continue;
            };
            let primary = lb.get("TargetGroupArn").and_then(target_of).unwrap_or("");
            let alternate = adv
                .get("AlternateTargetGroupArn")
                .and_then(target_of)
                .unwrap_or("");
            if resource_type(t, alternate) != Some("AWS::ElasticLoadBalancingV2::TargetGroup")
                || alternate == primary
            {
                bad.push(format!(
                    "{id}: AlternateTargetGroupArn is not a second target group of the template"
                ));
            }
            for key in ["ProductionListenerRule", "TestListenerRule"] {
                let rule = adv.get(key).and_then(target_of).unwrap_or("");
                match res(rule) {
                    Some(r)
                        if resource_type(t, rule)
                            == Some("AWS::ElasticLoadBalancingV2::ListenerRule") =>
                    {
                        let groups = forwarded_groups(r);
                        if !groups.contains(&primary) || !groups.contains(&alternate) {
                            bad.push(format!(
                                "{id}: {key} {rule} does not forward to both target groups"
                            ));
                        }
                    }
                    _ => bad.push(format!(
                        "{id}: {key} is not a listener rule of the template"
                    )),
                }
            }
            let role = adv.get("RoleArn").and_then(target_of).unwrap_or("");
            match res(role) {
                Some(r) if trusts_ecs(r)
                    && props(r)["ManagedPolicyArns"].to_string().contains("AmazonECSInfrastructureRolePolicyForLoadBalancers") => {}
                _ => bad.push(format!("{id}: AdvancedConfiguration.RoleArn is not an ECS role with the load-balancer policy")),
            }
        }
        for (i, hook) in p["DeploymentConfiguration"]["LifecycleHooks"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let role = hook.get("RoleArn").and_then(target_of).unwrap_or("");
            let allowed = res(role).is_some_and(|r| {
                trusts_ecs(r)
                    && props(r)["Policies"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|pol| {
                            pol["PolicyDocument"]["Statement"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .any(|s| {
                                    s["Action"] == json!("lambda:InvokeFunction")
                                        && s["Resource"]
                                            .as_array()
                                            .is_some_and(|a| a.contains(&hook["HookTargetArn"]))
                                })
                        })
            });
            if !allowed {
                bad.push(format!(
                    "{id}: hook {i}'s role may not invoke its HookTargetArn"
                ));
            }
            if let Some(d) = hook.get("HookDetails") {
                let is_object = details_text(d)
                    .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                    .is_some_and(|v| v.is_object());
                if !is_object {
                    bad.push(format!(
                        "{id}: hook {i}'s HookDetails is not a JSON object in a string"
                    ));
                }
            }
        }
    }
    bad
}

/// Rule 12: every custom resource has a literal `ServiceTimeout` within 1..=3600 s. Without it
/// CloudFormation waits 3600 s for an answer that never comes (and again on rollback).
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html
pub fn rule_custom_resources_have_service_timeout(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (id, r) in resources(t) {
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or("");
        if !(ty.starts_with("Custom::") || ty == "AWS::CloudFormation::CustomResource") {
            continue;
        }
        match props(r).get("ServiceTimeout").and_then(Value::as_u64) {
            Some(1..=3600) => {}
            other => bad.push(format!("{id}: ServiceTimeout {other:?} (want 1..=3600)")),
        }
    }
    bad
}

/// Rule 13: a gate with a `RoutingHeader` has a route that matches exactly that header and
/// forwards to a target group, and waits for it; a gate with `WorkerFunctionArn` names a
/// function of the template that carries the workers tag and runs in a VPC. Without the route
/// the gate measures the standby; without the tag the provider may not invoke the function.
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HttpHeaderConditionConfig.html
/// https://docs.aws.amazon.com/lambda/latest/dg/attribute-based-access-control.html
pub fn rule_gate_reaches_the_app(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (id, gate) in of_type(t, "Custom::FargateLoadTestGate") {
        let p = props(gate);
        let deps: Vec<&str> = match gate.get("DependsOn") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(s)) => vec![s.as_str()],
            _ => vec![],
        };
        if let Some(h) = p.get("RoutingHeader") {
            let found = resources(t).into_iter().any(|(rid, r)| {
                let rp = props(r);
                let conditions = rp["Conditions"].as_array().cloned().unwrap_or_default();
                let matches = conditions.iter().any(|c| {
                    c["HttpHeaderConfig"]["HttpHeaderName"] == h["Name"]
                        && c["HttpHeaderConfig"]["Values"] == json!([h["Value"].clone()])
                });
                let forwards = !rp["TargetGroupArn"].is_null()
                    || rp["Actions"][0]["TargetGroupArn"].is_object();
                matches && forwards && deps.contains(&rid.as_str())
            });
            if !found {
                bad.push(format!(
                    "{id}: no route the gate waits for matches its RoutingHeader"
                ));
            }
        }
        if let Some(f) = p.get("WorkerFunctionArn") {
            let fid = f["Fn::GetAtt"][0].as_str().unwrap_or("");
            let function = t["Resources"].get(fid).map(props).unwrap_or(&Value::Null);
            let tagged = function["Tags"].as_array().is_some_and(|tags| {
                tags.iter()
                    .any(|t| t["Key"] == "fargate-app:load-test-workers" && t["Value"] == "true")
            });
            if !tagged || function["VpcConfig"]["SubnetIds"].is_null() {
                bad.push(format!(
                    "{id}: WorkerFunctionArn is not a tagged VPC function of the template"
                ));
            }
        }
    }
    bad
}

pub fn all_rules(input: &Value, t: &Value) -> Vec<String> {
    let mut v = Vec::new();
    v.extend(rule_iam_resources_are_arns(t));
    v.extend(rule_health_check_timeout_below_interval(t));
    v.extend(rule_alb_two_subnets(t));
    v.extend(rule_no_desired_count_with_scaling(t));
    v.extend(rule_alb_egress_to_tasks(t));
    v.extend(rule_app_condition_everywhere(input, t));
    v.extend(rule_listener_certificate_follows_condition(t));
    v.extend(rule_event_input_is_json(t));
    v.extend(rule_provider_permission_shared(t));
    v.extend(rule_assign_public_ip_words(t));
    v.extend(rule_traffic_shift_wiring(t));
    v.extend(rule_custom_resources_have_service_timeout(t));
    v.extend(rule_gate_reaches_the_app(t));
    v
}
