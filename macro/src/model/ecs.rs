//! ECS deployments as the developer guide defines them: blue/green, canary and linear on an ALB
//! shift traffic by rewriting the weights of a production and a test listener rule that forward
//! to both target groups; a listener that mixes forward with redirect, fixed-response or
//! authenticate actions makes the deployment fail; lifecycle hooks receive their `HookDetails`
//! unchanged. A service's `DesiredCount` in the template is applied again on every stack update.

use super::elbv2::{evaluate, forward_targets, gate_requests, listener_for, Network, Outcome};
use super::{items, target, App, Finding, Rule, Severity, Stack};
use serde_json::Value;

const BLUE_GREEN_ALB: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html";

pub const LISTENER_ACTIONS: Rule = Rule {
    code: "ECS_STRATEGY_LISTENER_NOT_FORWARD",
    severity: Severity::Error,
    rule: "blue/green, canary and linear deployments fail on a listener whose rules mix forward with redirect, fixed-response or authenticate actions",
    doc: BLUE_GREEN_ALB,
};
pub const TEST_ROUTE_OPEN: Rule = Rule {
    code: "ECS_TEST_ROUTE_OPEN",
    severity: Severity::Warning,
    rule: "the test listener rule sends test traffic to the new revision; on the production listener with only a header condition anyone who sends the header reaches it",
    doc: BLUE_GREEN_ALB,
};
pub const DESIRED_COUNT_REAPPLIED: Rule = Rule {
    code: "ECS_DESIRED_COUNT_REAPPLIED",
    severity: Severity::Error,
    rule: "a DesiredCount in the template is set again on every stack update, undoing the count another controller (failover, scaling) set",
    doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html",
};
pub const HOOK_DETAILS_TYPES: Rule = Rule {
    code: "ECS_HOOK_DETAILS_NOT_NUMBER",
    severity: Severity::Error,
    rule: "ECS passes HookDetails to the hook unchanged: a threshold written as a string stays a string",
    doc: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html",
};
pub const STICKINESS: Rule = Rule {
    code: "ELB_STICKINESS_NOT_IN_WEIGHTED_FORWARD",
    severity: Severity::Error,
    rule: "with a forward to several target groups, stickiness is the action's TargetGroupStickinessConfig; the groups' own stickiness does not hold a client to one group",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/sticky-sessions.html",
};

pub const GATE_OLD_REVISION: Rule = Rule {
    code: "ECS_GATE_MEASURES_OLD_REVISION",
    severity: Severity::Error,
    rule: "until PRODUCTION_TRAFFIC_SHIFT production traffic stays on the blue revision; at TEST_TRAFFIC_SHIFT and POST_TEST_TRAFFIC_SHIFT only the test listener rule reaches green",
    doc: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html",
};

pub const RULES: &[&Rule] = &[
    &GATE_OLD_REVISION,
    &LISTENER_ACTIONS,
    &TEST_ROUTE_OPEN,
    &DESIRED_COUNT_REAPPLIED,
    &HOOK_DETAILS_TYPES,
    &STICKINESS,
];

fn non_forward(actions: &[Value]) -> Option<&str> {
    actions.iter().find_map(|a| {
        let t = a["Type"].as_str()?;
        (t == "redirect" || t == "fixed-response" || t.starts_with("authenticate-")).then_some(t)
    })
}

fn sticky(st: &Stack, tg: &Value) -> bool {
    target(tg).is_some_and(|t| {
        items(&st.props(t)["TargetGroupAttributes"])
            .any(|a| a["Key"] == "stickiness.enabled" && a["Value"] == "true")
    })
}

pub fn check(st: &Stack, apps: &[App], net: &Network) -> Vec<Finding> {
    let mut out = Vec::new();
    for app in apps {
        let svc = st.props(&app.service);
        let strategy = svc["DeploymentConfiguration"]["Strategy"]
            .as_str()
            .unwrap_or("ROLLING");
        let name = app.name.as_str();
        for lb in items(&svc["LoadBalancers"]) {
            let adv = &lb["AdvancedConfiguration"];
            if adv.is_null() || strategy == "ROLLING" {
                continue;
            }
            let prod = target(&adv["ProductionListenerRule"]).unwrap_or("");
            let test = target(&adv["TestListenerRule"]).unwrap_or("");
            let listener_of = |rule: &str| {
                net.rules
                    .iter()
                    .find(|r| r.id == rule)
                    .map(|r| r.listener.clone())
            };
            let (Some(pl), tl) = (listener_of(prod), listener_of(test)) else {
                continue;
            };
            if let Some(l) = net.listener(&pl) {
                if let Some(d) = &l.default_actions {
                    if let Some(kind) = non_forward(d) {
                        out.push(Finding::new(
                            &LISTENER_ACTIONS,
                            name,
                            &[&app.service, &l.id],
                            format!("{strategy} on {}, whose default action is {kind}", l.id),
                        ));
                    }
                }
                for r in net.rules_on(&pl) {
                    if let Some(kind) = non_forward(&r.actions) {
                        out.push(Finding::new(
                            &LISTENER_ACTIONS,
                            name,
                            &[&app.service, &r.id],
                            format!("{strategy} on {}, where {} is {kind}", l.id, r.id),
                        ));
                    }
                }
            }
            // The gate's hooks at the test stages must ride the test rule to reach green.
            let mine = net.listeners_of(st, app);
            for g in gate_requests(st, app) {
                if !g.origin.contains("LifecycleHooks") || !g.stage.contains("TEST_TRAFFIC_SHIFT") {
                    continue;
                }
                let Some(l) = listener_for(net, &mine, &g.url) else {
                    continue;
                };
                let landed = match evaluate(net, l, &g.request()) {
                    Outcome::Rule(r) if r.id != test => Some(r.id.clone()),
                    Outcome::Default(_) => Some(format!("{}'s default action", l.id)),
                    _ => None,
                };
                if let Some(landed) = landed {
                    out.push(Finding::new(
                        &GATE_OLD_REVISION,
                        name,
                        &[&g.origin, &landed],
                        format!(
                            "{} ({}) lands on {landed}, not on the test rule {test}: it measures the old revision",
                            g.origin, g.stage
                        ),
                    ));
                }
            }
            if tl.as_deref() == Some(pl.as_str()) {
                // Closed: a source-ip condition, or a header whose value is decided at deploy
                // time (a secret the public cannot guess); a literal header value is public.
                let closed = net.rules.iter().find(|r| r.id == test).is_some_and(|r| {
                    r.conditions.iter().any(|c| {
                        c["Field"] == "source-ip"
                            || (c["Field"] == "http-header"
                                && items(&c["HttpHeaderConfig"]["Values"]).any(|v| !v.is_string()))
                    })
                });
                if !closed {
                    out.push(Finding::new(
                        &TEST_ROUTE_OPEN,
                        name,
                        &[test],
                        format!("{test} shares the production listener and admits anyone who sends its header"),
                    ));
                }
            }
            for r in net.rules.iter().filter(|r| r.id == prod) {
                for a in &r.actions {
                    let groups = forward_targets(a);
                    let enabled =
                        a["ForwardConfig"]["TargetGroupStickinessConfig"]["Enabled"] == true;
                    if groups.len() > 1 && !enabled && groups.iter().any(|(g, _)| sticky(st, g)) {
                        out.push(Finding::new(
                            &STICKINESS,
                            name,
                            &[prod],
                            format!("{prod} forwards to sticky target groups without TargetGroupStickinessConfig"),
                        ));
                    }
                }
            }
        }
        if !svc["DesiredCount"].is_null() {
            let failover = st
                .of_type("Custom::FargateWeightedFailover")
                .find(|(_, p)| target(&p["ServiceName"]) == Some(app.service.as_str()));
            let scaling = st
                .of_type("AWS::ApplicationAutoScaling::ScalableTarget")
                .find(|(_, p)| {
                    let mut names = Default::default();
                    super::references(&p["ResourceId"], &mut names);
                    names.contains(&app.service)
                });
            if let Some((other, _)) = failover.or(scaling) {
                out.push(Finding::new(
                    &DESIRED_COUNT_REAPPLIED,
                    name,
                    &[&app.service, other],
                    format!(
                        "{} writes DesiredCount while {other} sets the count",
                        app.service
                    ),
                ));
            }
        }
        // Only the hook's details: a custom resource receives every property as a string
        // anyway, so there a string threshold is what the provider reads.
        for g in gate_requests(st, app)
            .iter()
            .filter(|g| g.origin.contains("LifecycleHooks"))
        {
            for (k, v) in g.thresholds.as_object().into_iter().flatten() {
                if v.is_string() {
                    out.push(Finding::new(
                        &HOOK_DETAILS_TYPES,
                        name,
                        &[&g.origin],
                        format!("{} writes Thresholds.{k} as the string {v}", g.origin),
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A test rule on the production listener is open unless a source-ip condition or a
    /// deploy-time header value closes it.
    #[test]
    fn open_and_closed_test_routes() {
        let rule = |extra: Value| {
            json!({"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
                "ListenerArn": {"Ref": "L"}, "Priority": 1,
                "Conditions": [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-FargateApp-Route", "Values": ["test"]}}, extra],
                "Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": {"Ref": "WebTargetGroup"}}, {"TargetGroupArn": {"Ref": "WebAlternateTargetGroup"}}]}}]}})
        };
        let cases = [
            (json!({"Field": "path-pattern", "Values": ["/*"]}), 1),
            (
                json!({"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/16"]}}),
                0,
            ),
            (
                json!({"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Key", "Values": [{"Ref": "AWS::StackId"}]}}),
                0,
            ),
            (
                json!({"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Key", "Values": ["public"]}}),
                1,
            ),
        ];
        for (extra, want) in cases {
            let st = super::super::test_stack(&json!({
                "WebService": {"Type": "AWS::ECS::Service", "Properties": {
                    "TaskDefinition": {"Ref": "WebTaskDefinition"},
                    "DeploymentConfiguration": {"Strategy": "BLUE_GREEN"},
                    "LoadBalancers": [{"TargetGroupArn": {"Ref": "WebTargetGroup"}, "AdvancedConfiguration": {
                        "AlternateTargetGroupArn": {"Ref": "WebAlternateTargetGroup"},
                        "ProductionListenerRule": {"Ref": "WebTestRule"}, "TestListenerRule": {"Ref": "WebTestRule"}}}]}},
                "WebTestRule": rule(extra.clone()),
            }));
            let net = Network::read(&st);
            let open = check(&st, &st.apps, &net)
                .iter()
                .filter(|f| f.code == "ECS_TEST_ROUTE_OPEN")
                .count();
            assert_eq!(open, want, "{extra}");
        }
    }

    /// The page's limitation: a listener with redirect, fixed-response or authenticate actions
    /// beside forward cannot carry a blue/green deployment.
    #[test]
    fn only_forward_listeners_carry_a_strategy() {
        let cases = [
            (json!([{"Type": "forward"}]), None),
            (json!([{"Type": "redirect"}]), Some("redirect")),
            (json!([{"Type": "fixed-response"}]), Some("fixed-response")),
            (
                json!([{"Type": "authenticate-oidc"}, {"Type": "forward"}]),
                Some("authenticate-oidc"),
            ),
        ];
        for (actions, want) in cases {
            assert_eq!(non_forward(actions.as_array().unwrap()), want);
        }
    }
}
