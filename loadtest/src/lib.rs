//! The FargateApp load-test engine, shared by `fargate-app loadtest` and the provider's
//! load-test gate.
//!
//! - Open model ([`Model::Rate`]): requests are scheduled at fixed intended times by a
//!   dedicated scheduler thread (sub-millisecond, independent of response times); latency is
//!   measured from each request's intended time, so queueing in a slow target shows up in the
//!   percentiles instead of being hidden (coordinated omission). In-flight requests are capped
//!   (`2 x Config::max_connections`): a request that cannot start is counted as not sent, never
//!   queued, and each request ends by its intended time plus the timeout, so a run ends by
//!   `duration + timeout` with flat memory however overloaded the target.
//! - Closed model ([`Model::Concurrency`]): N clients, each sending its next request when the
//!   previous one is answered.
//!
//! Timeouts enter the histogram at their timeout; failures are counted per reason, answers per
//! status. Latencies go into an HDR histogram (fixed memory however long the run), mergeable across
//! parallel workers through [`Report::to_wire`].

pub mod client;
pub mod engine;
pub mod report;
pub mod scaling;
pub mod target;

pub use engine::{
    connect_address, parse_duration, parse_duration_in, run, Config, EngineError, Model, Progress,
};
pub use report::{judge, merge_workers, Report, Thresholds, Verdict, WorkerReply};
