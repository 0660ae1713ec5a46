//! The FargateApp macro: expands `Fargate::App` resources into the ECS, ALB, Cloud Map, IAM,
//! logging and auto-scaling resources of a production Fargate service.

pub mod create_only;
pub mod diff;
pub mod editor_schema;
pub mod error;
pub mod expand;
pub mod gen;
pub mod intrinsics;
pub mod lambda;
pub mod model;
pub mod reader;
pub mod refs;
pub mod source;
pub mod spec;
pub mod template;

pub use error::{Error, Problem, Problems, Result};
pub use expand::{expand, expand_with_warnings, Expanded, Warning};
pub use gen::Settings;
