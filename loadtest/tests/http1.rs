//! The engine's HTTP/1.1 client against a scripted server on 127.0.0.1 that answers every
//! request with the same bytes, written in parts with a pause between them (so an answer
//! arrives split across reads), then keeps the connection or closes it. Through the engine's
//! `run`, so every case also checks that each request is counted once, by status or by error.
//! Framing as RFC 9112 defines it (https://www.rfc-editor.org/rfc/rfc9112#section-6.3).

use fargate_loadtest::{run, Config, Model, Report};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server does with each request.
struct Script {
    /// The answer, written part by part with a pause between parts.
    parts: Vec<Vec<u8>>,
    /// Close the connection after answering.
    close: bool,
}

struct Server {
    url: String,
    connections: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(script: Script) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (connections, requests) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (c, r) = (connections.clone(), requests.clone());
    let script = Arc::new(script);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            let _ = s.set_nodelay(true);
            c.fetch_add(1, Ordering::Relaxed);
            let (script, r) = (script.clone(), r.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // The engine's GET has no body: a request ends at its blank line.
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        r.fetch_add(1, Ordering::Relaxed);
                        for (i, part) in script.parts.iter().enumerate() {
                            if i > 0 {
                                tokio::time::sleep(Duration::from_millis(5)).await;
                            }
                            if s.write_all(part).await.is_err() {
                                return;
                            }
                        }
                        if script.close {
                            return;
                        }
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    Server {
        url,
        connections,
        requests,
        task,
    }
}

/// What a case's run must report: answers per status, body bytes in all, the error reason
/// (every request fails with it) and how many connections the server accepted.
struct Expect {
    statuses: &'static [(u16, u64)],
    bytes: u64,
    error: Option<&'static str>,
    connections: u64,
}

fn chunked(data: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for c in data.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn one(s: &str) -> Vec<Vec<u8>> {
    vec![s.as_bytes().to_vec()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_framed_counted_and_their_errors_classified() {
    let big = vec![b'x'; 100_000];
    let mut long_head = b"HTTP/1.1 200 OK\r\nx-long: ".to_vec();
    long_head.extend_from_slice(&[b'a'; 5000]);
    long_head.extend_from_slice(b"\r\ncontent-length: 2\r\n\r\nok");
    let mut big_length = b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n".to_vec();
    big_length.extend_from_slice(&big);
    let cases: Vec<(&str, Script, Model, Expect)> = vec![
        (
            "content-length, kept alive",
            Script { parts: one("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), close: false },
            Model::Concurrency(1),
            Expect { statuses: &[(200, 3)], bytes: 15, error: None, connections: 1 },
        ),
        (
            "chunked, with an extension and a trailer",
            Script {
                parts: one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=1\r\n world\r\n0\r\nx-t: a\r\n\r\n"),
                close: false,
            },
            Model::Concurrency(1),
            Expect { statuses: &[(200, 3)], bytes: 33, error: None, connections: 1 },
        ),
        (
            "chunked, split across reads mid-line and mid-data",
            Script {
                parts: ["HTTP/1.1 20", "0 OK\r\nTransfer-Enc", "oding: chunked\r\n\r\n5\r", "\nhel", "lo\r", "\n0\r\n", "\r\n"]
                    .iter().map(|p| p.as_bytes().to_vec()).collect(),
                close: false,
            },
            Model::Concurrency(1),
            Expect { statuses: &[(200, 3)], bytes: 15, error: None, connections: 1 },
        ),
        (
            "Connection: close, a new connection each",
            Script { parts: one("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), close: true },
            Model::Concurrency(1),
            Expect { statuses: &[(200, 3)], bytes: 6, error: None, connections: 3 },
        ),
        (
            "no length: the body ends with the connection",
            Script { parts: one("HTTP/1.1 200 OK\r\n\r\nuntil close"), close: true },
            Model::Concurrency(1),
            Expect { statuses: &[(200, 3)], bytes: 33, error: None, connections: 3 },
        ),
        (
            "204 without a body",
            Script { parts: one("HTTP/1.1 204 No Content\r\n\r\n"), close: false },
            Model::Concurrency(1),
            Expect { statuses: &[(204, 3)], bytes: 0, error: None, connections: 1 },
        ),
        (
            "304 with a Content-Length and no body",
            Script { parts: one("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"), close: false },
            Model::Concurrency(1),
            Expect { statuses: &[(304, 3)], bytes: 0, error: None, connections: 1 },
        ),
        (
            "100 Continue, then the answer",
            Script {
                parts: vec![b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(), b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()],
                close: false,
            },
            Model::Concurrency(1),
            Expect { statuses: &[(200, 3)], bytes: 6, error: None, connections: 1 },
        ),
        (
            "a body larger than the buffer",
            Script { parts: vec![big_length], close: false },
            Model::Concurrency(1),
            Expect { statuses: &[(200, 3)], bytes: 300_000, error: None, connections: 1 },
        ),
        (
            "a chunked body in chunks larger than the buffer",
            Script { parts: vec![chunked(&big, 70_000)], close: false },
            Model::Concurrency(1),
            Expect { statuses: &[(200, 3)], bytes: 300_000, error: None, connections: 1 },
        ),
        (
            "a head larger than the buffer",
            Script { parts: vec![long_head], close: false },
            Model::Concurrency(1),
            Expect { statuses: &[(200, 3)], bytes: 6, error: None, connections: 1 },
        ),
        (
            "a malformed status line",
            Script { parts: one("HTTX/1.1 200 OK\r\n\r\n"), close: false },
            Model::Concurrency(1),
            Expect { statuses: &[], bytes: 0, error: Some("connection error: invalid response: invalid HTTP version"), connections: 3 },
        ),
        (
            "a bad chunk size",
            Script { parts: one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), close: false },
            Model::Concurrency(1),
            Expect { statuses: &[], bytes: 0, error: Some("connection error: invalid response: a chunk size that is not hexadecimal"), connections: 3 },
        ),
        (
            "closed in the middle of the body",
            Script { parts: one("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), close: true },
            Model::Concurrency(1),
            Expect { statuses: &[], bytes: 0, error: Some("connection reset: the server closed the connection after 3 of the body's 10 bytes"), connections: 3 },
        ),
        (
            "closed in the middle of the head",
            Script { parts: one("HTTP/1.1 200 OK\r\nContent-Le"), close: true },
            Model::Concurrency(1),
            Expect { statuses: &[], bytes: 0, error: Some("connection reset: the server closed the connection in the middle of the answer's head"), connections: 3 },
        ),
        (
            "closed in the middle of a chunked body",
            Script { parts: one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe"), close: true },
            Model::Concurrency(1),
            Expect { statuses: &[], bytes: 0, error: Some("connection reset: the server closed the connection in the middle of a chunked body"), connections: 3 },
        ),
        (
            // Kept alive by its headers, closed by the server while idle between two requests
            // 20 ms apart: the next request goes on a new connection, with no error.
            "closed while idle",
            Script { parts: one("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), close: true },
            Model::Rate(50.0),
            Expect { statuses: &[(200, 3)], bytes: 6, error: None, connections: 3 },
        ),
    ];
    for (name, script, model, expect) in cases {
        let server = serve(script).await;
        let mut cfg = Config::new(&server.url, model, Duration::from_secs(10));
        cfg.requests = Some(3);
        cfg.timeout = Duration::from_secs(2);
        // One connection in the open model too, so that its requests share it.
        cfg.max_connections = 1;
        let r: Report = run(&cfg, Arc::default()).await.unwrap();
        let statuses: Vec<(u16, u64)> = r.statuses.iter().map(|(s, n)| (*s, *n)).collect();
        // The counts and reasons, without the histogram's buckets.
        let r_ = format!(
            "sent {} ok {} statuses {:?} errors {} timeouts {} reasons {:?}",
            r.sent, r.ok, r.statuses, r.connection_errors, r.timeouts, r.reasons
        );
        assert_eq!(r.sent, 3, "{name}: {r_}");
        assert_eq!(r.completed(), 3, "{name}: every request ended once: {r_}");
        assert_eq!(statuses, expect.statuses, "{name}: {r_}");
        assert_eq!(r.bytes_received, expect.bytes, "{name}");
        assert_eq!(r.timeouts, 0, "{name}: {r_}");
        match expect.error {
            None => assert_eq!(r.connection_errors, 0, "{name}: {r_}"),
            Some(reason) => {
                assert_eq!(r.connection_errors, 3, "{name}: {r_}");
                let reasons: Vec<_> = r.reasons.iter().collect();
                assert_eq!(reasons, vec![(&reason.to_string(), &3)], "{name}");
            }
        }
        assert_eq!(server.requests.load(Ordering::Relaxed), 3, "{name}");
        assert_eq!(
            server.connections.load(Ordering::Relaxed),
            expect.connections,
            "{name}"
        );
    }
}
