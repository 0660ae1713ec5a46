//! Benchmark of the macro (run with `make bench`; not part of the tests).
//!
//! Builds templates of Apps that use every feature between them (dedicated ALB, shared ALB with
//! an automatic port, a rule with an automatic priority, failover, discovery, three scaling
//! metrics, secrets, health checks, load-test gates), then measures the in-process expansion
//! time, and the whole `fargate-app expand` process (time and peak memory).

use fargate_macro::{expand, template, Settings};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn app(i: usize, peer: usize) -> Value {
    let lb = match i % 4 {
        0 => json!({ "Create": true, "HealthCheck": { "Path": "/health" } }),
        1 => {
            json!({ "Arn": { "Ref": "SharedAlb" }, "SecurityGroup": { "Ref": "AlbSg" }, "ListenerPort": "auto" })
        }
        2 => {
            json!({ "Arn": { "Ref": "SharedAlb" }, "Listener": { "Ref": "SharedListener" }, "SecurityGroup": { "Ref": "AlbSg" }, "DnsName": "alb.example.com", "Path": format!("/app{i}/*"), "Priority": "auto" })
        }
        _ => json!({ "Create": { "Scheme": "internal" } }),
    };
    let mut props = json!({
        "Image": format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/app{i}:v1"),
        "Port": 3000, "Cpu": 512, "Memory": 1024,
        "Environment": { "PEER": { "Fn::GetAtt": [format!("App{peer}"), "DiscoveryName"] }, "LOG_LEVEL": "info" },
        "Secrets": { "DB_PASSWORD": format!("/prod/app{i}/db"), "TOKEN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:tok-AbCdEf" },
        "HealthCheck": { "Command": "curl -f http://localhost:3000/health || exit 1" },
        "Network": { "VpcId": { "Ref": "VpcId" }, "Subnets": { "Ref": "Subnets" } },
        "LoadBalancer": lb,
        "Discovery": { "NamespaceName": "bench.local", "Name": format!("app{i}") },
        "Scaling": { "Min": 1, "Max": 4, "CpuPercent": 70, "MemoryPercent": 70, "RequestsPerTarget": 200 },
        "Tags": { "team": "bench" },
    });
    if i % 4 == 3 {
        // Keeps 30 Apps under the 500-resource stack limit.
        props["Scaling"]
            .as_object_mut()
            .unwrap()
            .remove("RequestsPerTarget");
        props["Failover"] = json!({ "Standby": { "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:api" }, "AlarmName": "api-throttles", "StandbyCount": 2 });
    } else {
        // `LoadTest.Path` is absolute: under the rule `/appN/*` the gate asks `/appN/health`.
        let path = if i % 4 == 2 {
            format!("/app{i}/health")
        } else {
            "/health".into()
        };
        props["LoadTest"] = json!({ "Path": path, "Rate": 20, "Duration": 30, "Thresholds": { "P99Ms": 500, "MaxErrorRate": 0.01 } });
    }
    json!({ "Type": "Fargate::App", "Properties": props })
}

fn template_of(apps: std::ops::Range<usize>) -> Value {
    let mut resources = serde_json::Map::new();
    let (start, end) = (apps.start, apps.end);
    for i in apps {
        let peer = if i + 1 < end { i + 1 } else { start };
        resources.insert(format!("App{i}"), app(i, peer));
    }
    json!({
        "Transform": "FargateApp",
        "Parameters": {
            "VpcId": { "Type": "AWS::EC2::VPC::Id" }, "Subnets": { "Type": "List<AWS::EC2::Subnet::Id>" },
            "SharedAlb": { "Type": "String" }, "SharedListener": { "Type": "String" }, "AlbSg": { "Type": "String" }
        },
        "Resources": resources,
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // 30 Apps fit one stack; 40 go in two stacks of 20 (and the 40 Apps in one template
    // are reported as an error naming the count).
    let one = template_of(0..30);
    // References in the second half point at Apps of the first; keep them within each stack.
    let halves = [template_of(0..20), template_of(20..40)];
    let settings = Settings::default();
    let out = expand(&one, &settings).expect("the 30-App bench template expands");
    let n_resources = out["Resources"].as_object().unwrap().len();
    let size = template::to_json(&out).len();

    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let r = expand(&one, &settings);
        times.push(t.elapsed());
        assert!(r.is_ok());
    }
    println!(
        "in-process, 30 Apps ({n_resources} resources, {size} bytes of JSON): median {:?}",
        median(times)
    );
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        for h in &halves {
            let _ = expand(h, &settings);
        }
        times.push(t.elapsed());
    }
    println!(
        "in-process, 40 Apps in two templates of 20: median {:?}",
        median(times)
    );
    let too_many = expand(&template_of(0..40), &settings).unwrap_err();
    println!(
        "40 Apps in one template: {}",
        too_many
            .to_string()
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(90)
            .collect::<String>()
    );

    // Whole process: the release `fargate-app` binary next to this example.
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("fargate-app");
    if !bin.exists() {
        println!("(build the CLI first: cargo build --release --bin fargate-app)");
        return;
    }
    let dir = std::env::temp_dir().join("fargate-app-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bench-30.json");
    std::fs::write(&file, template::to_json(&one)).unwrap();
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let o = std::process::Command::new(&bin)
            .arg("expand")
            .arg(&file)
            .output()
            .unwrap();
        times.push(t.elapsed());
        assert!(o.status.success());
    }
    // Peak memory of the CLI alone: GNU time reports the exec'd process's maximum RSS
    // (getrusage on children would count the pages inherited from this process at fork).
    let peak = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(&bin)
        .arg("expand")
        .arg(&file)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stderr)
                .trim()
                .lines()
                .last()
                .and_then(|l| l.parse::<f64>().ok())
        });
    match peak {
        Some(kb) => println!("whole process `fargate-app expand` (30 Apps): median {:?}, peak RSS {:.1} MB", median(times), kb / 1024.0),
        None => println!("whole process `fargate-app expand` (30 Apps): median {:?} (install GNU time for the peak RSS)", median(times)),
    }
}
