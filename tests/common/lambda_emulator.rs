//! A function under a real implementation of the Lambda runtime API: `cargo lambda watch
//! --only-lambda-apis` (installed into .venv by `make setup`) serves the runtime API, and the
//! binary cargo built for the test polls it with the environment Lambda would give it.
//! Shared by the macro's and the provider's end-to-end tests.

use serde_json::Value;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Function {
    emulator: Child,
    function: Child,
    pub url: String,
    pub started: Instant,
}

fn root() -> String {
    format!("{}/..", env!("CARGO_MANIFEST_DIR"))
}

fn spawn_group(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("process starts")
}

impl Function {
    /// Starts the emulator and the function binary `exe`, with `env` added.
    /// `exe` is the test build's binary, unless `BOOTSTRAP_<NAME>` (the name upper-cased, `-` as
    /// `_`: `BOOTSTRAP_FARGATE_APP_PROVIDER`) names another: the `bootstrap` of a release zip, so
    /// that the shipped artifact is the tested one (`cfn/release.sh`).
    pub fn start(name: &str, exe: &str, env: &[(&str, String)]) -> Function {
        let var = format!("BOOTSTRAP_{}", name.to_uppercase().replace('-', "_"));
        let given = std::env::var(&var).ok();
        let exe = given.as_deref().unwrap_or(exe);
        eprintln!("{name}: running {exe}");
        let venv_bin = format!("{}/.venv/bin", root());
        assert!(
            std::path::Path::new(&format!("{venv_bin}/cargo-lambda")).exists(),
            "cargo-lambda is missing: run `make setup`"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::create_dir_all(format!("{}/tests/.tmp", root())).unwrap();
        let log = |what: &str| {
            std::fs::File::create(format!("{}/tests/.tmp/{name}-{what}.log", root())).unwrap()
        };
        let emulator = spawn_group(
            Command::new(format!("{venv_bin}/cargo-lambda"))
                .args([
                    "lambda",
                    "watch",
                    "--only-lambda-apis",
                    "-A",
                    "127.0.0.1",
                    "-P",
                    &port.to_string(),
                ])
                .current_dir(root())
                .stdout(log("emulator"))
                .stderr(log("emulator-stderr")),
        );
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the Lambda runtime API emulator did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut cmd = Command::new(exe);
        cmd.env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769")
        .stdout(log("function"))
        .stderr(log("function-stderr"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let function = spawn_group(&mut cmd);
        Function {
            emulator,
            function,
            url: format!("http://127.0.0.1:{port}/2015-03-31/functions/_/invocations"),
            started,
        }
    }

    /// Invokes the function synchronously, as CloudFormation or EventBridge would.
    pub fn invoke(&self, event: &Value) -> Value {
        let out = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "120",
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
                "--data-binary",
                "@-",
                &self.url,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin
                    .take()
                    .unwrap()
                    .write_all(event.to_string().as_bytes())?;
                c.wait_with_output()
            })
            .expect("curl runs");
        assert!(
            out.status.success(),
            "invoke failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        for child in [&mut self.function, &mut self.emulator] {
            // Each was started as the leader of its own process group (the emulator has
            // children): stop the group, and only it.
            let pgid = child.id() as libc::pid_t;
            if pgid > 1 {
                // SAFETY: killpg only sends a signal; the group is one this test created.
                unsafe { libc::killpg(pgid, libc::SIGKILL) };
            }
            let _ = child.wait();
        }
    }
}
