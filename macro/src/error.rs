//! Errors as data: every problem names the resource and the property path.

use std::fmt;

/// One problem found in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A property of a `Fargate::App` (or of a resource referring to one) is wrong.
    Property {
        logical_id: String,
        path: String,
        message: String,
    },
    /// A problem with the template as a whole.
    Template { path: String, message: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, path, message) = match self {
            Problem::Property {
                logical_id,
                path,
                message,
            } => (format!("Resource [{logical_id}]"), path, message),
            Problem::Template { path, message } => ("Template".to_string(), path, message),
        };
        if path.is_empty() {
            write!(f, "{head}: {message}")
        } else {
            write!(f, "{head} {path}: {message}")
        }
    }
}

impl std::error::Error for Problem {}

impl Problem {
    pub fn property(logical_id: &str, path: &str, message: impl Into<String>) -> Self {
        Problem::Property {
            logical_id: logical_id.to_string(),
            path: path.to_string(),
            message: message.into(),
        }
    }

    pub fn template(path: &str, message: impl Into<String>) -> Self {
        Problem::Template {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// Stable rule codes for CI annotations (`fargate-app expand --error-format json`), one per kind
/// of problem. Codes never change meaning; a new kind gets a new code. FA0xx are file problems
/// (`source::SourceError::code`).
impl Problem {
    pub fn code(&self) -> &'static str {
        let (Problem::Property { message, .. } | Problem::Template { message, .. }) = self;
        let m = message.as_str();
        let has = |parts: &[&str]| parts.iter().any(|p| m.contains(p));
        if m.starts_with("unknown property") {
            "FA101" // unknown property
        } else if m.starts_with("required") {
            "FA102" // required property missing
        } else if m.starts_with("expected ")
            || m.starts_with("must be a literal")
            || m.starts_with("must be known when the macro runs")
        {
            "FA103" // wrong type or shape
        } else if has(&[
            "with Failover and LoadTest",
            "the gate has nothing to measure",
            "the gate's Lambda runs outside the VPC",
            "the gate runs against the test route",
            "is not matched by the App's rule",
            "behind an internet-facing ALB",
            "internet to an internal ALB",
            "the check's Lambda runs outside the VPC",
            "the check connects to the ALB's own name",
            "the check's load never reaches the service",
        ]) {
            "FA112" // the load-test gate or the scaling check could not reach the App's own tasks
        } else if has(&[
            "out of range",
            "is greater than",
            "is outside",
            "must be less than",
            "is longer than",
            "is not above Scaling.Min",
            "is above Scaling.Max",
            "is shorter than Duration",
            "one provider invocation holds",
        ]) {
            "FA104" // number out of range
        } else if has(&[
            " is not one of ",
            " is not a",
            " is neither ",
            " must start with ",
            " is not Allow",
            "not allowed in",
            "starts with CMD",
            "variable name is",
            "applies to none of",
            "has no letter or digit",
            "is a wildcard: Route 53 takes it",
            "but not of a task definition",
            "is not a Lambda function ARN",
        ]) {
            "FA105" // value not allowed
        } else if m.starts_with("give ")
            || has(&[
                "not both",
                "not used with",
                "only used with",
                "also set in",
                "is not valid with",
                "tasks only",
                "needs a Path and/or a Host",
                "the test rule takes Priority - 1",
                "leaves no room for the test rule",
                "lifecycle hooks run in",
                "traffic through a load balancer",
                "an HTTPS listener: leave Protocol out",
                "is for an App with a listener of its own",
                "a client-only App serves no endpoint",
                "the record is an alias to the App's ALB",
                "needs the ALB's DNSName and CanonicalHostedZoneID",
                "not with TaskDefinition",
                "only with TaskDefinition",
                "only with CreateTopic",
                "the notification tells the App's URL",
                "needs Scaling: the check",
                "needs a LoadBalancer: the check",
                "needs Run: OnChange",
                "needs the App's URL, which is not known",
            ])
        {
            "FA106" // properties that conflict or go together
        } else if has(&[
            "has no attribute",
            "is not available",
            "cannot depend on itself",
            "does not need to allow itself",
        ]) {
            "FA107" // reference to an App or attribute
        } else if m.starts_with("generates '") {
            "FA108" // logical ID collision
        } else if has(&["CloudFormation allows", "CloudFormation rejects"]) {
            "FA109" // a CloudFormation limit
        } else if has(&[
            "may be a function or a target group",
            "is the function's name",
            "cannot tell which ARN",
            "so its ARN is unknown",
        ]) {
            "FA110" // a reference whose kind or ARN the expansion cannot tell
        } else if has(&[
            "must name at least one",
            "at least two Availability Zones",
            "an ALB rule takes at most",
            "PriorityInUse",
            "needs a listener whose every action forwards",
            "DuplicateListener",
            "an ALB condition takes at most",
            "ServiceAlreadyExists",
            "a namespace takes one service per name",
            "ECS and Cloud Map take one per namespace",
            "ECS takes at most 1 per Service Connect service",
            "DuplicateTargetGroupName",
            "ELBv2 takes the lowest priority that matches",
            "need a listener whose every action forwards",
            "InvalidChangeBatch",
            "Cloud Map sees one namespace",
            "fail TLS verification",
        ]) {
            "FA111" // a limit or rule of the AWS service (ELB, ECS, Cloud Map)
        } else if matches!(self, Problem::Template { .. }) {
            "FA200" // other template problem
        } else {
            "FA100" // other property problem
        }
    }
}

/// Every problem found in one expansion, reported together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn push(&mut self, p: Problem) {
        self.0.push(p);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.len() {
            0 => write!(f, "no problems"),
            1 => write!(f, "{}", self.0[0]),
            n => {
                write!(f, "{n} problems:")?;
                for p in &self.0 {
                    write!(f, "\n{p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Problems {}

/// Errors of the CLI and the Lambda around the expansion.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(#[from] Problems),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid YAML or JSON template: {message}")]
    Parse { path: String, message: String },
    #[error("cannot write the expanded template: {0}")]
    Write(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
