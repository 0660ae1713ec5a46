//! `fargate-app scaling-check`: drive load at a deployed App long enough for target tracking to
//! act, poll the service's desired, running and pending counts, print the timeline, and assert
//! that the desired count reached N (and, with `--expect-return`, that it came back to the
//! scalable target's minimum after the load stopped).
//!
//! Exit 0 every expectation met, 1 one missed (the verdict names it, the timeline is above it),
//! 2 bad input, 3 AWS trouble (an error that is not throttling, a missing service, or no count
//! read at all).
//!
//! What AWS does, and so how long a check must run:
//! - Target tracking: "Application Auto Scaling creates and manages the CloudWatch alarms that
//!   invoke the scaling policy and calculates the scaling adjustment based on the metric and the
//!   target value"; it "scales out proportionally to the metric as fast as it can, but scales in
//!   more gradually", and does not scale on insufficient data
//!   (https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html,
//!   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html).
//!   The alarms it creates for an ECS service are a high alarm of 3 one-minute datapoints above
//!   the target and a low alarm of 15 one-minute datapoints below 90% of it (the alarms'
//!   configuration as CloudWatch shows it; no page states the numbers).
//! - ECS publishes `CPUUtilization`/`MemoryUtilization` at 60-second resolution unless 20-second
//!   resolution is configured
//!   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/target-tracking-faster-auto-scaling.html).
//! - Cooldowns default to 300 s for ECS services, scale-out and scale-in (the same user guide,
//!   "Define cooldown periods").
//! - A scaling activity sets the service's desired count (DescribeServices `desiredCount`); the
//!   new tasks show as `pendingCount` while they start and as `runningCount` once RUNNING
//!   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html). The activity
//!   itself is listed by Application Auto Scaling's DescribeScalingActivities
//!   (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-scaling-activities.html).
//!
//! So a scale-out shows in desiredCount at the earliest about 3 minutes (plus the metric's
//! publication delay) after the load starts, and a return to the minimum about 15 minutes after
//! it stops (plus the 300 s scale-in cooldown).

use fargate_loadtest::scaling::{
    counts, header, judge, render_row, secs, Counts, Expect, LoadStats, Read, Row, State,
};
use fargate_loadtest::{parse_duration_in, Config, Model, Progress, Report};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUN_BOUNDS: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(86_400));

fn load_duration(s: &str) -> Result<Duration, String> {
    parse_duration_in(s, "the duration", RUN_BOUNDS.0..=RUN_BOUNDS.1)
}
/// A poll interval. DescribeServices is throttled by request rate
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html); 100ms is
/// for local fakes, AWS runs want seconds.
fn poll_interval(s: &str) -> Result<Duration, String> {
    parse_duration_in(
        s,
        "the poll interval",
        Duration::from_millis(100)..=Duration::from_secs(600),
    )
}
fn wait(s: &str) -> Result<Duration, String> {
    parse_duration_in(s, "a wait", Duration::ZERO..=Duration::from_secs(86_400))
}
fn timeout(s: &str) -> Result<Duration, String> {
    parse_duration_in(
        s,
        "the timeout",
        Duration::from_millis(1)..=Duration::from_secs(3600),
    )
}

#[derive(clap::Args)]
pub struct Args {
    /// A deployed stack: the App's URL, cluster, service and minimum come from its outputs,
    /// resources and processed template.
    #[arg(long)]
    stack: Option<String>,
    /// The App's logical ID in the stack (needed when the stack has several services).
    #[arg(long)]
    app: Option<String>,
    /// The App's URL (instead of the stack's `<App>Url` output).
    #[arg(long)]
    url: Option<String>,
    /// The ECS cluster (name or ARN).
    #[arg(long)]
    cluster: Option<String>,
    /// The ECS service (name or ARN).
    #[arg(long)]
    service: Option<String>,
    /// The path the load asks, appended to the URL (the seed's `/stress-test`).
    #[arg(long, default_value = "/")]
    path: String,
    /// Requests per second, sent on schedule whatever the response times.
    #[arg(long)]
    rate: f64,
    /// How long to send load: seconds (300) or with a unit (5m, 90s); 1s to 1day. Target
    /// tracking's high alarm needs 3 one-minute datapoints: give it several minutes.
    #[arg(long, value_parser = load_duration)]
    duration: Duration,
    /// Most connections (as many more requests may wait for one; beyond that a request is not
    /// sent and is counted).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How often to read the service's counts (DescribeServices); 100ms to 10m.
    #[arg(long, default_value = "15s", value_parser = poll_interval)]
    poll: Duration,
    /// The desired count the service must reach.
    #[arg(long, value_name = "N")]
    expect_desired: Option<i32>,
    /// How long after the load starts `--expect-desired` may take (default: the duration plus
    /// 2 minutes, for the last loaded minutes' datapoints and the alarm's evaluation).
    #[arg(long, value_parser = wait)]
    expect_within: Option<Duration>,
    /// After the load stops, the desired count must come back to the minimum within this long
    /// (scale-in waits for 15 low datapoints and a 300 s cooldown: 20m or more on AWS).
    #[arg(long, value_parser = wait, value_name = "WAIT")]
    expect_return: Option<Duration>,
    /// The scalable target's MinCapacity (read from the stack with --stack).
    #[arg(long, value_name = "N")]
    min: Option<i32>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = timeout)]
    timeout: Duration,
    /// The status that counts as success.
    #[arg(long, default_value_t = 200)]
    expect: u16,
    /// Accept any server certificate.
    #[arg(short = 'k', long)]
    insecure: bool,
}

/// Where the check points: the URL loaded, the service polled, the minimum for the return.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub url: String,
    pub cluster: String,
    pub service: String,
    pub min: Option<i32>,
}

/// Finds the App's URL, cluster, service and minimum in a deployed stack: `template` is the
/// processed template (GetTemplate, stage Processed), `physical` the resources' physical IDs
/// (ListStackResources), `outputs` and `parameters` from DescribeStacks.
pub fn locate_in_stack(
    template: &Value,
    physical: &[(String, String)],
    outputs: &[(String, String)],
    parameters: &serde_json::Map<String, Value>,
    app: Option<&str>,
) -> Result<Located, String> {
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or("the processed template has no Resources")?;
    let services: Vec<&String> = resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::ECS::Service"))
        .map(|(k, _)| k)
        .collect();
    let service_id = match app {
        Some(a) => {
            let id = format!("{a}Service");
            if !services.contains(&&id) {
                return Err(format!(
                    "the stack has no service {id} (App {a}); its services: {}",
                    list(&services)
                ));
            }
            id
        }
        None if services.len() == 1 => services[0].clone(),
        None => {
            return Err(format!(
                "give --app: the stack's services are {}",
                list(&services)
            ))
        }
    };
    let app = service_id.trim_end_matches("Service").to_string();
    let phys = |id: &str| {
        physical
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v.clone())
    };
    // A Ref to a resource is its physical ID, to a parameter its value; a literal is itself.
    let value = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Object(o) => {
                let r = o.get("Ref")?.as_str()?;
                phys(r).or_else(|| parameters.get(r).and_then(Value::as_str).map(String::from))
            }
            _ => None,
        }
    };
    let service =
        phys(&service_id).ok_or_else(|| format!("the stack lists no resource {service_id}"))?;
    let props = &resources[&service_id]["Properties"];
    let cluster = match props.get("Cluster") {
        Some(c) => value(c).ok_or_else(|| {
            format!("cannot read {service_id}'s Cluster ({c}) from the stack: give --cluster")
        })?,
        // ECS's default cluster when a service names none.
        None => "default".to_string(),
    };
    let min = resources
        .get(&format!("{app}ScalableTarget"))
        .and_then(|t| t["Properties"].get("MinCapacity"))
        .and_then(value)
        .and_then(|m| m.parse().ok());
    let wanted = format!("{app}Url");
    let url = outputs
        .iter()
        .find(|(k, _)| *k == wanted)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| {
            format!(
                "the stack has no output {wanted} (outputs: {}): give --url",
                list(&outputs.iter().map(|(k, _)| k).collect::<Vec<_>>())
            )
        })?;
    Ok(Located {
        url,
        cluster,
        service,
        min,
    })
}

fn list(v: &[&String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// The URL of the load: the App's URL and the path.
pub fn target_url(base: &str, path: &str) -> String {
    if path.is_empty() || path == "/" && base.trim_end_matches('/') != base {
        return base.to_string();
    }
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

fn bad(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("fargate-app scaling-check: {msg}");
    ExitCode::from(2)
}

fn aws_trouble(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("fargate-app scaling-check: {msg}");
    ExitCode::from(3)
}

pub fn run(a: Args) -> ExitCode {
    if !(a.rate > 0.0 && a.rate.is_finite()) {
        return bad(format!("--rate {} is not a positive number", a.rate));
    }
    if a.expect_desired.is_some_and(|n| n < 1) {
        return bad("--expect-desired must be at least 1");
    }
    if a.stack.is_none() && (a.url.is_none() || a.cluster.is_none() || a.service.is_none()) {
        return bad("give --stack (and --app), or --url, --cluster and --service");
    }
    // diff's reader runs its own runtime: before this one.
    let deployed = match &a.stack {
        Some(stack) => match crate::diff::aws::deployed(stack) {
            Ok(d) => Some(d),
            Err(e) => return aws_trouble(e),
        },
        None => None,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return aws_trouble(format!("no runtime: {e}")),
    };
    rt.block_on(check(a, deployed))
}

async fn check(a: Args, deployed: Option<crate::diff::aws::Deployed>) -> ExitCode {
    let conf = aws_config::load_from_env().await;
    let mut located = Located {
        url: a.url.clone().unwrap_or_default(),
        cluster: a.cluster.clone().unwrap_or_default(),
        service: a.service.clone().unwrap_or_default(),
        min: a.min,
    };
    if let (Some(stack), Some(d)) = (&a.stack, &deployed) {
        match aws::from_stack(&conf, d, stack, a.app.as_deref()).await {
            Ok(Ok(l)) => {
                println!(
                    "Stack {stack}: URL {}, cluster {}, service {}, minimum {}",
                    l.url,
                    l.cluster,
                    l.service,
                    l.min.map_or("unknown".to_string(), |m| m.to_string())
                );
                // Explicit flags win over what the stack says.
                located = Located {
                    url: a.url.clone().unwrap_or(l.url),
                    cluster: a.cluster.clone().unwrap_or(l.cluster),
                    service: a.service.clone().unwrap_or(l.service),
                    min: a.min.or(l.min),
                };
            }
            Ok(Err(e)) => return bad(e),
            Err(e) => return aws_trouble(e),
        }
    }
    let expect = Expect {
        desired: a.expect_desired.map(|n| {
            (
                n,
                a.expect_within
                    .unwrap_or(a.duration + Duration::from_secs(120)),
            )
        }),
        back_to_min: match (a.expect_return, located.min) {
            (Some(w), Some(m)) => Some((m, w)),
            (Some(_), None) => {
                return bad("--expect-return needs the minimum: give --min (or --stack with the App's scalable target)")
            }
            (None, _) => None,
        },
    };
    if let (Some(n), Some(min)) = (a.expect_desired, located.min) {
        if n <= min {
            return bad(format!(
                "--expect-desired {n} is not above the minimum {min}: the service starts there"
            ));
        }
    }
    let url = target_url(&located.url, &a.path);
    let mut cfg = Config::new(&url, Model::Rate(a.rate), a.poll.min(a.duration));
    cfg.timeout = a.timeout;
    cfg.expected_status = a.expect;
    cfg.max_connections = a.connections.max(1);
    cfg.insecure = a.insecure;
    let ecs = aws_sdk_ecs::Client::new(&conf);
    println!(
        "Scaling check: {url} at {} req/s for {}; service {} in cluster {}; polling every {}",
        a.rate,
        secs(a.duration),
        located.service,
        located.cluster,
        secs(a.poll)
    );
    // First read before any load: a missing service or denied call is AWS trouble (exit 3), not
    // a missed expectation, and is found before the load starts.
    let start = Instant::now();
    let first = match aws::counts(&ecs, &located.cluster, &located.service).await {
        Ok(Some(c)) => Read::Counts(c),
        Ok(None) => Read::Skipped("throttled".into()),
        Err(e) => return aws_trouble(e),
    };
    println!("{}", header());
    let mut rows = vec![Row {
        at: Duration::ZERO,
        read: first,
        load: None,
    }];
    println!("{}", render_row(&rows[0]));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<(Report, Duration), String>>();
    let (load_for, rate) = (a.duration, a.rate);
    let load = tokio::spawn(async move {
        // One engine run per poll interval, so each row has its own rate and p99. The runs
        // keep one schedule: interval k sends the requests due in [k x poll, (k+1) x poll) at
        // `rate` (a run restarting its own schedule would send one at each start, and a run
        // that ends early would be followed at once by the next: more than the rate).
        let begun = Instant::now();
        let seg = cfg.duration;
        let mut k = 0u32;
        loop {
            let from = seg * k;
            if from >= load_for {
                break;
            }
            let to = (from + seg).min(load_for);
            let due = |t: Duration| (t.as_secs_f64() * rate).floor();
            let n = (due(to) - due(from)) as u64;
            tokio::time::sleep_until((begun + from).into()).await;
            if n > 0 {
                let mut c = cfg.clone();
                c.duration = to - from;
                c.requests = Some(n);
                let r = fargate_loadtest::run(&c, Arc::new(Progress::default()))
                    .await
                    .map(|r| (r, to - from));
                let failed = r.is_err();
                if tx.send(r.map_err(|e| e.to_string())).is_err() || failed {
                    break;
                }
            }
            k += 1;
        }
    });
    let mut load_end: Option<Duration> = None;
    let mut next = a.poll;
    loop {
        tokio::time::sleep_until((start + next).into()).await;
        next += a.poll;
        let mut stats: Option<LoadStats> = None;
        // Runs that ended since the last row (a slow target can end two in one interval):
        // their completed requests over the intervals they were due in.
        let (mut done, mut due_in) = (0u64, Duration::ZERO);
        while let Ok(r) = rx.try_recv() {
            match r {
                Ok((r, window)) => {
                    let s = stats.get_or_insert(LoadStats {
                        rps: 0.0,
                        p99_ms: None,
                        errors: 0,
                    });
                    done += r.completed();
                    due_in += window;
                    s.rps = done as f64 / due_in.as_secs_f64().max(0.001);
                    s.p99_ms = r.percentile(0.99).map(|p| s.p99_ms.map_or(p, |q| q.max(p)));
                    s.errors += r.errors();
                }
                Err(e) => {
                    // The target cannot be loaded (bad URL, no such host): bad input.
                    return bad(format!("the load cannot run: {e}"));
                }
            }
        }
        if load_end.is_none() && load.is_finished() {
            load_end = Some(start.elapsed());
            println!("{:>8} load stopped", secs(start.elapsed()));
        }
        let read = match aws::counts(&ecs, &located.cluster, &located.service).await {
            Ok(Some(c)) => Read::Counts(c),
            Ok(None) => Read::Skipped("throttled".into()),
            Err(e) => {
                load.abort();
                return aws_trouble(e);
            }
        };
        let row = Row {
            at: start.elapsed(),
            read,
            load: stats,
        };
        println!("{}", render_row(&row));
        rows.push(row);
        let now = start.elapsed();
        if counts(&rows).next().is_none() && load_end.is_some() {
            load.abort();
            return aws_trouble("no DescribeServices answered during the whole load (throttled)");
        }
        match judge(&rows, &expect, now, load_end) {
            State::Waiting => {}
            State::Met(why) => {
                println!("Verdict  MET: {why}");
                return ExitCode::SUCCESS;
            }
            State::Missed(why) => {
                load.abort();
                println!("Verdict  MISSED: {why}");
                return ExitCode::from(1);
            }
        }
    }
}

mod aws {
    //! DescribeServices and the stack's resources through the SDK.

    use super::{locate_in_stack, Counts, Located};
    use crate::diff::aws::err;
    use aws_sdk_ecs::error::ProvideErrorMetadata;

    /// The service's counts; `Ok(None)` when the call was throttled (after the SDK's own
    /// retries) or timed out, `Err` for anything else. ECS answers throttling with
    /// `ThrottlingException` (HTTP 400)
    /// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html) and a
    /// service it does not know as a failure with reason `MISSING`
    /// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html).
    pub async fn counts(
        ecs: &aws_sdk_ecs::Client,
        cluster: &str,
        service: &str,
    ) -> Result<Option<Counts>, String> {
        let out = match ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                use aws_sdk_ecs::error::SdkError;
                let throttled = matches!(
                    e.code(),
                    Some("ThrottlingException" | "Throttling" | "TooManyRequestsException")
                );
                if throttled || matches!(e, SdkError::TimeoutError(_)) {
                    return Ok(None);
                }
                return Err(err(&format!("DescribeServices {service} in {cluster}"), e));
            }
        };
        if let Some(f) = out.failures().first() {
            return Err(format!(
                "DescribeServices {service} in {cluster}: {} ({})",
                f.reason().unwrap_or("failure"),
                f.arn().unwrap_or(service)
            ));
        }
        let s = out
            .services()
            .first()
            .ok_or_else(|| format!("DescribeServices {service} in {cluster}: no service"))?;
        Ok(Some(Counts {
            desired: s.desired_count(),
            running: s.running_count(),
            pending: s.pending_count(),
        }))
    }

    /// The App's place in a deployed stack: its processed template, parameters and outputs
    /// (`diff`'s reading of a stack) and the resources' physical IDs (ListStackResources:
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html).
    /// Outer `Err`: AWS trouble; inner `Err`: the stack does not say (bad input).
    pub async fn from_stack(
        conf: &aws_config::SdkConfig,
        deployed: &crate::diff::aws::Deployed,
        stack: &str,
        app: Option<&str>,
    ) -> Result<Result<Located, String>, String> {
        let c = aws_sdk_cloudformation::Client::new(conf);
        let mut physical = Vec::new();
        let mut token = None;
        loop {
            let page = c
                .list_stack_resources()
                .stack_name(stack)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| err(&format!("ListStackResources {stack}"), e))?;
            for r in page.stack_resource_summaries() {
                if let (Some(l), Some(p)) = (r.logical_resource_id(), r.physical_resource_id()) {
                    physical.push((l.to_string(), p.to_string()));
                }
            }
            token = page.next_token().map(String::from);
            if token.is_none() {
                break;
            }
        }
        Ok(locate_in_stack(
            &deployed.template,
            &physical,
            &deployed.outputs,
            &deployed.parameters,
            app,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_url_table() {
        for (base, path, want) in [
            (
                "http://alb:8000",
                "/stress-test",
                "http://alb:8000/stress-test",
            ),
            (
                "http://alb:8000/",
                "stress-test",
                "http://alb:8000/stress-test",
            ),
            ("http://alb:8000", "/", "http://alb:8000/"),
            ("http://alb:8000/", "/", "http://alb:8000/"),
        ] {
            assert_eq!(target_url(base, path), want, "{base} + {path}");
        }
    }

    /// The 002 example's expansion as CloudFormation would hold it (resources with physical
    /// IDs, the outputs resolved).
    #[test]
    fn locate_in_the_002_expansion() {
        let src = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/002-users-products/template.yaml"
        ))
        .unwrap();
        let template = fargate_macro::template::parse(&src).unwrap();
        let expanded =
            fargate_macro::expand(&template, &fargate_macro::Settings::default()).unwrap();
        let physical: Vec<(String, String)> = expanded["Resources"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| (k.clone(), format!("phys-{k}")))
            .collect();
        let outputs = vec![
            ("UsersUrl".to_string(), "http://alb:8000".to_string()),
            ("ProductsUrl".to_string(), "http://alb:8001".to_string()),
        ];
        let params = serde_json::Map::new();
        let got = locate_in_stack(&expanded, &physical, &outputs, &params, Some("Users")).unwrap();
        assert_eq!(
            got,
            Located {
                url: "http://alb:8000".into(),
                cluster: "phys-FargateAppCluster".into(),
                service: "phys-UsersService".into(),
                min: Some(1),
            }
        );
        let e = locate_in_stack(&expanded, &physical, &outputs, &params, None).unwrap_err();
        assert!(
            e.contains("give --app") && e.contains("UsersService"),
            "{e}"
        );
        let e = locate_in_stack(&expanded, &physical, &outputs, &params, Some("Nope")).unwrap_err();
        assert!(e.contains("no service NopeService"), "{e}");
        let e = locate_in_stack(&expanded, &physical, &[], &params, Some("Users")).unwrap_err();
        assert!(e.contains("no output UsersUrl"), "{e}");
    }
}
