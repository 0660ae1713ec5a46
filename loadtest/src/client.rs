//! One HTTP/1.1 connection (hyper) over TCP or TLS (rustls). Both paths share the code, so a
//! failure keeps its reason (refused, reset, TLS) and the OS message, and HTTPS can present a
//! host name other than the address it connects to (`Config::connect_to`).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// TLS settings of a run: the client configuration and the name presented (SNI).
#[derive(Clone)]
pub struct Tls {
    pub connector: tokio_rustls::TlsConnector,
    pub server_name: ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls({:?})", self.server_name)
    }
}

/// Where and what to send, prepared once for the whole run.
#[derive(Clone, Debug)]
pub struct Target {
    pub method: Method,
    pub host_header: String,
    pub path: String,
    /// The address connected to (the URL's host, or `connect_to`).
    pub addr: SocketAddr,
    pub tls: Option<Tls>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub timeout: Duration,
    /// The request's line and headers, parsed and validated on the first request and cloned
    /// for each (no URI parse or header validation per request).
    pub head: std::sync::OnceLock<Result<Request<()>, String>>,
}

impl Target {
    fn head(&self) -> &Result<Request<()>, String> {
        self.head.get_or_init(|| {
            let mut req = Request::builder()
                .method(self.method.clone())
                .uri(&self.path)
                .header(hyper::header::HOST, &self.host_header);
            for (k, v) in &self.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            req.body(()).map_err(|e| format!("invalid request: {e}"))
        })
    }
}

/// Why a request got no HTTP answer (other than a timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Refused,
    Reset,
    Tls,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// The OS's or the TLS library's own words.
    pub message: String,
}

impl Failure {
    /// `connection refused: Connection refused (os error 111)`.
    pub fn reason(&self) -> String {
        let label = match self.kind {
            FailureKind::Refused => "connection refused",
            FailureKind::Reset => "connection reset",
            FailureKind::Tls => "TLS",
            FailureKind::Other => "connection error",
        };
        format!("{label}: {}", self.message)
    }

    fn io(e: &std::io::Error) -> Failure {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            K::ConnectionRefused => FailureKind::Refused,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                FailureKind::Reset
            }
            _ => FailureKind::Other,
        };
        Failure {
            kind,
            message: e.to_string(),
        }
    }

    fn tls(e: &std::io::Error) -> Failure {
        // rustls reports its own errors (certificate, alert) wrapped in an io::Error.
        match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(t) => Failure {
                kind: FailureKind::Tls,
                message: t.to_string(),
            },
            None => {
                let mut f = Failure::io(e);
                f.message = format!("during the TLS handshake: {}", f.message);
                if f.kind == FailureKind::Other {
                    f.kind = FailureKind::Tls;
                }
                f
            }
        }
    }

    fn hyper(e: &hyper::Error) -> Failure {
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                return Failure::io(io);
            }
            source = s.source();
        }
        Failure {
            kind: if e.is_incomplete_message() {
                FailureKind::Reset
            } else {
                FailureKind::Other
            },
            message: e.to_string(),
        }
    }
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer, read to its end: the status and the body's length in bytes.
    Status {
        status: u16,
        bytes: u64,
    },
    Timeout,
    Failed(Failure),
}

impl Outcome {
    pub fn describe(&self) -> String {
        match self {
            Outcome::Status { status, .. } => format!("status {status}"),
            Outcome::Timeout => "timeout".into(),
            Outcome::Failed(f) => f.reason(),
        }
    }
}

/// A connection that reconnects when its peer closes it.
#[derive(Default)]
pub struct Conn {
    sender: Option<SendRequest<Full<Bytes>>>,
}

async fn handshake<S>(io: S) -> Result<SendRequest<Full<Bytes>>, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| Failure::hyper(&e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

impl Conn {
    pub fn new() -> Conn {
        Conn::default()
    }

    async fn connect(t: &Target) -> Result<SendRequest<Full<Bytes>>, Failure> {
        let stream = TcpStream::connect(t.addr)
            .await
            .map_err(|e| Failure::io(&e))?;
        let _ = stream.set_nodelay(true);
        match &t.tls {
            None => handshake(stream).await,
            Some(tls) => {
                let s = tls
                    .connector
                    .connect(tls.server_name.clone(), stream)
                    .await
                    .map_err(|e| Failure::tls(&e))?;
                handshake(s).await
            }
        }
    }

    /// Sends one request and reads the whole response, within the per-request timeout.
    pub async fn send(&mut self, t: &Target) -> Outcome {
        self.send_until(t, Instant::now() + t.timeout).await
    }

    /// Sends one request; it times out at `deadline`.
    pub async fn send_until(&mut self, t: &Target, deadline: Instant) -> Outcome {
        match tokio::time::timeout_at(deadline, self.send_inner(t)).await {
            Ok(o) => o,
            Err(_) => {
                // The connection's state is unknown after a timeout: start afresh.
                self.sender = None;
                Outcome::Timeout
            }
        }
    }

    async fn send_inner(&mut self, t: &Target) -> Outcome {
        let reusable = match self.sender.take() {
            Some(mut s) => s.ready().await.is_ok().then_some(s),
            None => None,
        };
        let mut sender = match reusable {
            Some(s) => s,
            // Boxed: connecting (TLS's handshake state above all) would otherwise size every
            // request's future, held for as long as the request waits for its answer.
            None => match Box::pin(Self::connect(t)).await {
                Ok(s) => s,
                Err(f) => return Outcome::Failed(f),
            },
        };
        let req = match t.head() {
            Ok(head) => head.clone().map(|()| Full::new(t.body.clone())),
            Err(e) => {
                return Outcome::Failed(Failure {
                    kind: FailureKind::Other,
                    message: e.clone(),
                })
            }
        };
        match sender.send_request(req).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                // Read to the end, counting the body's bytes without keeping them.
                let mut body = resp.into_body();
                let mut bytes = 0u64;
                while let Some(frame) = body.frame().await {
                    match frame {
                        Ok(f) => bytes += f.data_ref().map_or(0, |d| d.len() as u64),
                        Err(e) => return Outcome::Failed(Failure::hyper(&e)),
                    }
                }
                self.sender = Some(sender);
                Outcome::Status { status, bytes }
            }
            Err(e) => Outcome::Failed(Failure::hyper(&e)),
        }
    }
}
