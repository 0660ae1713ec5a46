//! One HTTP connection: hyper's HTTP/1.1 client on a plain TCP stream (the hot path), or a
//! reqwest client for HTTPS.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// Where and what to send, prepared once for the whole run.
#[derive(Clone, Debug)]
pub struct Target {
    pub method: Method,
    pub url: String,
    pub https: bool,
    pub host_header: String,
    pub path: String,
    pub addr: Option<SocketAddr>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub timeout: Duration,
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    Timeout,
    Connection,
}

/// A connection that reconnects when its peer closes it.
pub enum Conn {
    Plain(Option<SendRequest<Full<Bytes>>>),
    Tls(reqwest::Client),
}

impl Conn {
    pub fn new(t: &Target, tls: &Option<reqwest::Client>) -> Conn {
        match (t.https, tls) {
            (true, Some(c)) => Conn::Tls(c.clone()),
            _ => Conn::Plain(None),
        }
    }

    async fn connect(t: &Target) -> Option<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(t.addr?).await.ok()?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Some(sender)
    }

    /// Sends one request and reads the whole response, within the per-request timeout.
    pub async fn send(&mut self, t: &Target) -> Outcome {
        match tokio::time::timeout(t.timeout, self.send_inner(t)).await {
            Ok(o) => o,
            Err(_) => {
                // The connection's state is unknown after a timeout: start afresh.
                if let Conn::Plain(s) = self {
                    *s = None;
                }
                Outcome::Timeout
            }
        }
    }

    async fn send_inner(&mut self, t: &Target) -> Outcome {
        match self {
            Conn::Tls(client) => {
                let mut rb = client
                    .request(t.method.clone(), &t.url)
                    .body(t.body.clone());
                for (k, v) in &t.headers {
                    rb = rb.header(k, v);
                }
                match rb.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        match resp.bytes().await {
                            Ok(_) => Outcome::Status(status),
                            Err(_) => Outcome::Connection,
                        }
                    }
                    Err(e) if e.is_timeout() => Outcome::Timeout,
                    Err(_) => Outcome::Connection,
                }
            }
            Conn::Plain(slot) => {
                let reusable = match slot.take() {
                    Some(mut s) => s.ready().await.is_ok().then_some(s),
                    None => None,
                };
                let mut sender = match reusable {
                    Some(s) => s,
                    None => match Self::connect(t).await {
                        Some(s) => s,
                        None => return Outcome::Connection,
                    },
                };
                let mut req = Request::builder()
                    .method(t.method.clone())
                    .uri(&t.path)
                    .header(hyper::header::HOST, &t.host_header);
                for (k, v) in &t.headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                let Ok(req) = req.body(Full::new(t.body.clone())) else {
                    return Outcome::Connection;
                };
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        match resp.into_body().collect().await {
                            Ok(_) => {
                                *slot = Some(sender);
                                Outcome::Status(status)
                            }
                            Err(_) => Outcome::Connection,
                        }
                    }
                    Err(_) => Outcome::Connection,
                }
            }
        }
    }
}
