//! The engine's HTTP/1.1 client: one connection is one task owning its socket (TCP, or TLS by
//! rustls over it), writing a request prepared once per run and reading the answer with
//! `httparse` into a small buffer of its own. No connection task beside the request's, no
//! channel between them, no buffer sized for the worst case: a connection idle or waiting for
//! its answer costs its socket and a 1 KiB buffer (grown only while an answer needs more).
//! A failure keeps its reason (refused, reset, TLS) and the OS's own words, and HTTPS can
//! present a host name other than the address it connects to (`Config::connect_to`).
//!
//! Framing follows RFC 9112 (https://www.rfc-editor.org/rfc/rfc9112): a response's body length
//! by section 6.3, chunked transfer coding by section 7.1, persistence (`Connection: close`,
//! HTTP/1.0) by section 9.3; which statuses never have a body by RFC 9110 section 6.4.1
//! (https://www.rfc-editor.org/rfc/rfc9110#section-6.4.1).

use bytes::{BufMut, Bytes, BytesMut};
use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;
use rustls::pki_types::ServerName;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

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
    /// The address connected to (the URL's host, or `connect_to`).
    pub addr: SocketAddr,
    pub tls: Option<Tls>,
    pub timeout: Duration,
    /// The request's bytes as written (line, headers, body), or why it cannot be sent.
    pub request: Result<Bytes, String>,
    /// A HEAD request: its answers have no body whatever their headers say.
    pub head_only: bool,
    /// An idempotent method (RFC 9110 section 9.2.2,
    /// https://www.rfc-editor.org/rfc/rfc9110#section-9.2.2): GET, HEAD, PUT, DELETE, OPTIONS,
    /// TRACE. Only these are retried on a reused connection the server closed without answering.
    pub idempotent: bool,
}

impl Target {
    /// Prepares the request once: `METHOD PATH HTTP/1.1`, `Host` (unless `headers` has one),
    /// the headers, `Content-Length` when there is a body or the method defines one (unless
    /// given), then the body. Names and values are checked by the `http` crate's rules.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        method: &Method,
        host: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
        addr: SocketAddr,
        tls: Option<Tls>,
        timeout: Duration,
    ) -> Target {
        Target {
            addr,
            tls,
            timeout,
            request: request_bytes(method, host, path, headers, body)
                .map_err(|e| format!("invalid request: {e}")),
            head_only: method == Method::HEAD,
            idempotent: [
                Method::GET,
                Method::HEAD,
                Method::PUT,
                Method::DELETE,
                Method::OPTIONS,
                Method::TRACE,
            ]
            .contains(method),
        }
    }
}

fn request_bytes(
    method: &Method,
    host: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Bytes, String> {
    let mut out = BytesMut::with_capacity(128 + path.len() + body.len());
    let line = |out: &mut BytesMut, name: &[u8], value: &[u8]| {
        out.put_slice(name);
        out.put_slice(b": ");
        out.put_slice(value);
        out.put_slice(b"\r\n");
    };
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(format!("'{path}' is not a request target"));
    }
    out.put_slice(method.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(path.as_bytes());
    out.put_slice(b" HTTP/1.1\r\n");
    let mut own_host = false;
    let mut own_length = false;
    let mut parsed = Vec::with_capacity(headers.len());
    for (k, v) in headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("{k}: {e}"))?;
        let value = HeaderValue::from_str(v).map_err(|e| format!("{k}: {e}"))?;
        own_host |= name == hyper::header::HOST;
        own_length |=
            name == hyper::header::CONTENT_LENGTH || name == hyper::header::TRANSFER_ENCODING;
        parsed.push((name, value));
    }
    if !own_host {
        let value = HeaderValue::from_str(host).map_err(|e| format!("host {host}: {e}"))?;
        line(&mut out, b"host", value.as_bytes());
    }
    for (name, value) in &parsed {
        line(&mut out, name.as_str().as_bytes(), value.as_bytes());
    }
    // RFC 9110 section 8.6: a user agent sends Content-Length when the method defines a meaning
    // for content (https://www.rfc-editor.org/rfc/rfc9110#section-8.6).
    let defines_content = [Method::POST, Method::PUT, Method::PATCH].contains(method);
    if !own_length && (!body.is_empty() || defines_content) {
        line(
            &mut out,
            b"content-length",
            body.len().to_string().as_bytes(),
        );
    }
    out.put_slice(b"\r\n");
    out.put_slice(body);
    Ok(out.freeze())
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

    fn io(e: &io::Error) -> Failure {
        use io::ErrorKind as K;
        // rustls reports its own errors (an alert, a bad record) wrapped in an io::Error.
        if let Some(t) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Failure {
                kind: FailureKind::Tls,
                message: t.to_string(),
            };
        }
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

    fn tls(e: &io::Error) -> Failure {
        let mut f = Failure::io(e);
        if f.kind != FailureKind::Tls {
            f.message = format!("during the TLS handshake: {}", f.message);
            if f.kind == FailureKind::Other {
                f.kind = FailureKind::Tls;
            }
        }
        f
    }

    /// The peer closed the connection before the answer was complete.
    fn closed(during: &str) -> Failure {
        Failure {
            kind: FailureKind::Reset,
            message: format!("the server closed the connection {during}"),
        }
    }

    fn invalid(what: impl std::fmt::Display) -> Failure {
        Failure {
            kind: FailureKind::Other,
            message: format!("invalid response: {what}"),
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

/// The buffer a connection starts with: an answer's head and small body fit (nginx's `ok` with
/// its headers is about 160 bytes).
const INITIAL_BUFFER: usize = 1024;
/// A body is read (and dropped) at most this much at a time.
const BODY_READ: usize = 16 * 1024;
/// An answer's head (status line and headers), or a chunk-size or trailer line, longer than
/// this is refused (hyper's limit was about 400 KB; real heads are well under 16 KB).
const MAX_HEAD: usize = 64 * 1024;
/// Headers parsed in place (httparse fills an array the caller clears first: a small one keeps
/// that cheap); an answer with more is parsed again with room for `MAX_HEADERS`.
const FEW_HEADERS: usize = 24;
/// At most this many headers in an answer (hyper's default limit).
const MAX_HEADERS: usize = 100;
/// A connection idle this long is checked for a close by the server before it is reused.
const IDLE_CHECK: Duration = Duration::from_millis(1);

enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Bytes read and not yet used: `data[start..end]`; `data.len()` is the capacity in use.
#[derive(Default)]
struct Buffer {
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// The most this answer needed (to give memory back after a large one).
    needed: usize,
}

impl Buffer {
    fn pending(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room for `want` more bytes after the pending ones: moves them to the front, then
    /// grows (never over `limit`, past which `false`).
    fn make_room(&mut self, want: usize, limit: usize) -> bool {
        if self.data.len() - self.end >= want {
            return true;
        }
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let need = self.end + want;
        self.needed = self.needed.max(need);
        if self.data.len() >= need {
            return true;
        }
        if need > limit {
            return false;
        }
        let size = need.next_power_of_two().clamp(INITIAL_BUFFER, limit);
        self.data.resize(size, 0);
        true
    }

    /// After an answer: forget what is left, and give back memory a large answer took.
    fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        if self.data.len() > INITIAL_BUFFER && self.needed <= INITIAL_BUFFER {
            self.data = vec![0; INITIAL_BUFFER];
        }
        self.needed = 0;
    }
}

/// The length of an answer's body (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// A parsed head: its length in the buffer, status, body framing, and whether the connection
/// closes after this answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    len: usize,
    status: u16,
    framing: Framing,
    close: bool,
}

/// Why a head is refused: httparse's reason, or a framing the client cannot follow.
#[derive(Debug)]
enum HeadError {
    Parse(httparse::Error),
    Framing(&'static str),
}

impl From<httparse::Error> for HeadError {
    fn from(e: httparse::Error) -> Self {
        HeadError::Parse(e)
    }
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::Parse(e) => e.fmt(f),
            HeadError::Framing(s) => f.write_str(s),
        }
    }
}

/// A field value with each obs-fold (CRLF or LF followed by SP or HTAB, left in the value by
/// httparse) replaced by SP, as RFC 9112 section 5.2 requires before interpreting it; borrowed
/// when there is none (the usual case).
fn unfold(value: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !value.iter().any(|&b| b == b'\r' || b == b'\n') {
        return std::borrow::Cow::Borrowed(value);
    }
    let unfolded = value
        .iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect();
    std::borrow::Cow::Owned(unfolded)
}

/// `true` if the comma-separated list `value` holds `token` (case-insensitive).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Parses a response head at the start of `buf`: `Ok(None)` when more bytes are needed.
fn parse_head(buf: &[u8], head_only: bool) -> Result<Option<Head>, Failure> {
    let mut few = [httparse::EMPTY_HEADER; FEW_HEADERS];
    match head_with(buf, head_only, &mut few) {
        Err(HeadError::Parse(httparse::Error::TooManyHeaders)) => {
            let mut many = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
            head_with(buf, head_only, &mut many).map_err(Failure::invalid)
        }
        r => r.map_err(Failure::invalid),
    }
}

fn head_with<'b>(
    buf: &'b [u8],
    head_only: bool,
    headers: &mut [httparse::Header<'b>],
) -> Result<Option<Head>, HeadError> {
    let mut resp = httparse::Response::new(headers);
    // RFC 9112 section 5.2 (https://www.rfc-editor.org/rfc/rfc9112#section-5.2): a user agent
    // receiving obs-fold in a response MUST replace each one with SP before interpreting the
    // field value. httparse accepts the fold and leaves it in the value; `unfold` replaces it.
    let len = match httparse::ParserConfig::default()
        .allow_obsolete_multiline_headers_in_responses(true)
        .parse_response(&mut resp, buf)?
    {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let status = resp.code.unwrap_or(0);
    let (mut close, mut keep_alive) = (false, false);
    let (mut chunked, mut coded, mut length) = (false, false, None::<u64>);
    for h in resp.headers.iter() {
        let value = unfold(h.value);
        let h = httparse::Header {
            name: h.name,
            value: &value,
        };
        if h.name.eq_ignore_ascii_case("connection") {
            close |= has_token(h.value, "close");
            keep_alive |= has_token(h.value, "keep-alive");
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            coded = true;
            // Only the final coding decides: chunked last means chunked framing. Empty list
            // elements are ignored (RFC 9110 section 5.6.1,
            // https://www.rfc-editor.org/rfc/rfc9110#section-5.6.1): `chunked,` ends in chunked.
            chunked = h
                .value
                .rsplit(|&b| b == b',')
                .map(<[u8]>::trim_ascii)
                .find(|t| !t.is_empty())
                .is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            // A list of identical values is one length; differing ones are an error
            // (RFC 9112 section 6.3, item 5).
            for v in h.value.split(|&b| b == b',') {
                let n = std::str::from_utf8(v.trim_ascii())
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or(HeadError::Framing("a Content-Length that is not a number"))?;
                if length.is_some_and(|l| l != n) {
                    return Err(HeadError::Framing("differing Content-Length values"));
                }
                length = Some(n);
            }
        }
    }
    let no_body = head_only || (100..200).contains(&status) || status == 204 || status == 304;
    let framing = if no_body {
        Framing::Length(0)
    } else if coded {
        // Transfer-Encoding overrides Content-Length; a final coding other than chunked is
        // delimited by the close (RFC 9112 section 6.3, items 3 and 4).
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    // HTTP/1.0 closes unless it says keep-alive; 1.1 stays open unless it says close
    // (RFC 9112 section 9.3). 101 switches to another protocol: no more HTTP/1.1 here.
    // RFC 9112 section 6.1 (https://www.rfc-editor.org/rfc/rfc9112#section-6.1): an HTTP/1.0
    // message with Transfer-Encoding has faulty framing; the client closes the connection after
    // processing it (its body is read as its Transfer-Encoding says), never reusing it.
    let close = close
        || (resp.version == Some(0) && (!keep_alive || coded))
        || framing == Framing::UntilClose
        || status == 101;
    Ok(Some(Head {
        len,
        status,
        framing,
        close,
    }))
}

/// A connection that reconnects when its peer closes it.
#[derive(Default)]
pub struct Conn {
    stream: Option<Stream>,
    buf: Buffer,
    /// When the last answer on `stream` ended.
    idle_since: Option<Instant>,
    /// Whether any byte of the answer to the request being sent has been read.
    answered: bool,
}

impl Conn {
    pub fn new() -> Conn {
        Conn::default()
    }

    async fn connect(t: &Target) -> Result<Stream, Failure> {
        let stream = TcpStream::connect(t.addr)
            .await
            .map_err(|e| Failure::io(&e))?;
        let _ = stream.set_nodelay(true);
        match &t.tls {
            None => Ok(Stream::Tcp(stream)),
            Some(tls) => {
                let s = tls
                    .connector
                    .connect(tls.server_name.clone(), stream)
                    .await
                    .map_err(|e| Failure::tls(&e))?;
                Ok(Stream::Tls(Box::new(s)))
            }
        }
    }

    /// Sends one request and reads the whole response, within the per-request timeout.
    pub async fn send(&mut self, t: &Target) -> Outcome {
        let now = Instant::now();
        self.send_at(t, now, now + t.timeout).await.0
    }

    /// Sends one request at `now` (the caller's reading of the clock, so that a request costs
    /// two readings, not six); it times out at `deadline`. Returns how it ended, and when.
    pub async fn send_at(
        &mut self,
        t: &Target,
        now: Instant,
        deadline: Instant,
    ) -> (Outcome, Instant) {
        let answer = tokio::time::timeout_at(deadline.into(), self.exchange(t, now)).await;
        let ended = Instant::now();
        let outcome = match answer {
            Ok(Ok((outcome, keep))) => {
                if keep {
                    self.idle_since = Some(ended);
                } else {
                    self.stream = None;
                }
                outcome
            }
            Ok(Err(f)) => {
                self.stream = None;
                Outcome::Failed(f)
            }
            // The connection's state is unknown after a timeout: start afresh.
            Err(_) => {
                self.stream = None;
                Outcome::Timeout
            }
        };
        self.buf.reset();
        (outcome, ended)
    }

    /// Whether the server closed (or wrote on) the idle connection: a read that would not
    /// block, polled once without waiting.
    fn closed_while_idle(&mut self) -> bool {
        let Some(stream) = self.stream.as_mut() else {
            return false;
        };
        let mut byte = [0u8; 1];
        let mut rb = ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        !matches!(Pin::new(stream).poll_read(&mut cx, &mut rb), Poll::Pending)
    }

    /// One request and its answer: the outcome and whether the connection can carry another.
    async fn exchange(&mut self, t: &Target, now: Instant) -> Result<(Outcome, bool), Failure> {
        let request = t.request.as_ref().map_err(|e| Failure {
            kind: FailureKind::Other,
            message: e.clone(),
        })?;
        let idle_long = self
            .idle_since
            .is_some_and(|s| now.saturating_duration_since(s) >= IDLE_CHECK);
        if self.stream.is_some() && idle_long && self.closed_while_idle() {
            self.stream = None;
        }
        let reused = self.stream.is_some();
        if !reused {
            // Boxed: connecting (TLS's handshake state above all) would otherwise size every
            // request's future.
            self.stream = Some(Box::pin(Self::connect(t)).await?);
        }
        match self.attempt(t, request).await {
            // RFC 9112 section 9.3.1 (https://www.rfc-editor.org/rfc/rfc9112#section-9.3.1): a
            // connection can close at any time, and a client MAY retry an idempotent request
            // (never POST or PATCH) on a new connection. A reused connection the server closed
            // (FIN or RST) before any byte of the answer is retried once, within the same
            // deadline and counted once: the caller measures its latency from the first send.
            // A close on a fresh connection stays an error.
            Err(f) if reused && !self.answered && t.idempotent && f.kind == FailureKind::Reset => {}
            r => return r,
        }
        self.stream = None;
        self.buf.reset();
        self.stream = Some(Box::pin(Self::connect(t)).await?);
        // Boxed: the rare retry does not size every request's future.
        Box::pin(self.attempt(t, request)).await
    }

    /// Writes the request and reads its answer: the outcome and whether the connection can
    /// carry another. Sets `answered` once any byte of the answer has been read.
    async fn attempt(&mut self, t: &Target, request: &[u8]) -> Result<(Outcome, bool), Failure> {
        self.answered = false;
        let Conn {
            stream,
            buf,
            answered,
            ..
        } = self;
        let stream = stream.as_mut().expect("connected before");
        let io = |e: io::Error| Failure::io(&e);
        stream.write_all(request).await.map_err(io)?;
        stream.flush().await.map_err(io)?;
        if buf.data.is_empty() {
            buf.data = vec![0; INITIAL_BUFFER];
        }
        let head = loop {
            if buf.end > buf.start {
                if let Some(h) = parse_head(buf.pending(), t.head_only)? {
                    buf.consume(h.len);
                    // An interim answer (100 Continue, 103 Early Hints): the final one follows.
                    if (100..200).contains(&h.status) && h.status != 101 {
                        continue;
                    }
                    break h;
                }
            }
            if !buf.make_room(1, MAX_HEAD) {
                return Err(Failure::invalid(format!("a head over {MAX_HEAD} bytes")));
            }
            if read(stream, buf).await.map_err(io)? == 0 {
                return Err(Failure::closed(if buf.end == 0 {
                    "before answering"
                } else {
                    "in the middle of the answer's head"
                }));
            }
            *answered = true;
        };
        let bytes = match head.framing {
            Framing::Length(n) => read_length(stream, buf, n).await?,
            Framing::Chunked => read_chunked(stream, buf).await?,
            Framing::UntilClose => read_until_close(stream, buf).await?,
        };
        // Bytes after the answer that nobody asked for: the connection is out of step.
        let keep = !head.close && buf.end == buf.start;
        Ok((
            Outcome::Status {
                status: head.status,
                bytes,
            },
            keep,
        ))
    }
}

/// Reads once into the buffer's free room; 0 at the end of the stream.
async fn read(stream: &mut Stream, buf: &mut Buffer) -> io::Result<usize> {
    let n = stream.read(&mut buf.data[buf.end..]).await?;
    buf.end += n;
    Ok(n)
}

/// Room to read a body into, once the buffer's bytes are used: up to what is left of the body,
/// at most `BODY_READ` at a time.
fn body_room(buf: &mut Buffer, left: u64) {
    debug_assert_eq!(buf.start, buf.end, "the buffer's bytes are used first");
    buf.start = 0;
    buf.end = 0;
    let want = left.clamp(1, BODY_READ as u64) as usize;
    // Empty, the buffer grows to `want` (at most BODY_READ): never refused.
    buf.make_room(want, BODY_READ);
}

/// A body of `n` bytes, dropped as it comes.
async fn read_length(stream: &mut Stream, buf: &mut Buffer, n: u64) -> Result<u64, Failure> {
    let mut left = n;
    loop {
        let take = (buf.end - buf.start).min(left.min(usize::MAX as u64) as usize);
        buf.consume(take);
        left -= take as u64;
        if left == 0 {
            return Ok(n);
        }
        body_room(buf, left);
        if read(stream, buf).await.map_err(|e| Failure::io(&e))? == 0 {
            return Err(Failure::closed(&format!(
                "after {} of the body's {n} bytes",
                n - left
            )));
        }
    }
}

/// A body until the server closes the connection.
async fn read_until_close(stream: &mut Stream, buf: &mut Buffer) -> Result<u64, Failure> {
    let mut total = 0u64;
    loop {
        total += (buf.end - buf.start) as u64;
        buf.consume(buf.end - buf.start);
        body_room(buf, BODY_READ as u64);
        if read(stream, buf).await.map_err(|e| Failure::io(&e))? == 0 {
            return Ok(total);
        }
    }
}

/// Where parsed trailers end, `None` while incomplete.
fn trailers_end(
    r: httparse::Result<(usize, &[httparse::Header<'_>])>,
) -> Result<Option<usize>, httparse::Error> {
    match r? {
        httparse::Status::Complete((n, _)) => Ok(Some(n)),
        httparse::Status::Partial => Ok(None),
    }
}

/// A chunked body (RFC 9112 section 7.1): the data's length, the chunks' sizes, extensions and
/// trailers parsed by httparse and dropped.
async fn read_chunked(stream: &mut Stream, buf: &mut Buffer) -> Result<u64, Failure> {
    enum State {
        Size,
        Data(u64),
        DataEnd,
        Trailers,
    }
    let mut state = State::Size;
    let mut total = 0u64;
    loop {
        let mut need_line = true;
        let pending = buf.pending();
        match state {
            State::Size => match httparse::parse_chunk_size(pending) {
                Ok(httparse::Status::Complete((n, 0))) => {
                    buf.consume(n);
                    state = State::Trailers;
                    continue;
                }
                Ok(httparse::Status::Complete((n, size))) => {
                    buf.consume(n);
                    state = State::Data(size);
                    continue;
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return Err(Failure::invalid("a chunk size that is not hexadecimal")),
            },
            State::Data(left) => {
                let take = pending.len().min(left.min(usize::MAX as u64) as usize);
                buf.consume(take);
                total += take as u64;
                state = if left == take as u64 {
                    State::DataEnd
                } else {
                    State::Data(left - take as u64)
                };
                if let State::Data(left) = state {
                    body_room(buf, left);
                    need_line = false;
                } else {
                    continue;
                }
            }
            State::DataEnd => {
                if pending.len() >= 2 {
                    if &pending[..2] != b"\r\n" {
                        return Err(Failure::invalid("chunk data longer than its size"));
                    }
                    buf.consume(2);
                    state = State::Size;
                    continue;
                }
            }
            State::Trailers => {
                // RFC 9112 section 7.1.2 (https://www.rfc-editor.org/rfc/rfc9112#section-7.1.2):
                // a trailer section is a field section like a head's, so it takes as many
                // fields as a head (`MAX_HEADERS`), parsed in a small array first.
                let mut few = [httparse::EMPTY_HEADER; FEW_HEADERS];
                let parsed = match httparse::parse_headers(pending, &mut few) {
                    Err(httparse::Error::TooManyHeaders) => {
                        let mut many = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
                        trailers_end(httparse::parse_headers(pending, &mut many))
                    }
                    r => trailers_end(r),
                };
                let done = parsed.map_err(Failure::invalid)?;
                if let Some(n) = done {
                    buf.consume(n);
                    return Ok(total);
                }
            }
        }
        if need_line && !buf.make_room(1, MAX_HEAD) {
            return Err(Failure::invalid(format!(
                "a chunk line or trailers over {MAX_HEAD} bytes"
            )));
        }
        if read(stream, buf).await.map_err(|e| Failure::io(&e))? == 0 {
            return Err(Failure::closed("in the middle of a chunked body"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A head with `n` headers, the last of them Content-Length: 2.
    fn many_headers(n: usize) -> String {
        let mut h = String::from("HTTP/1.1 200 OK\r\n");
        for i in 1..n {
            h.push_str(&format!("x-h{i}: v\r\n"));
        }
        h + "content-length: 2\r\n\r\n"
    }

    /// Heads as servers write them, and what the client makes of them.
    #[test]
    fn heads_give_status_framing_and_persistence() {
        use Framing::*;
        for (head, head_only, expected) in [
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n",
                false,
                Ok(Some((200, Length(2), false))),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n",
                false,
                Ok(Some((200, Length(7), false))),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 7, 8\r\n\r\n",
                false,
                Err("invalid response: differing Content-Length values"),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                false,
                Err("invalid response: a Content-Length that is not a number"),
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 9\r\n\r\n",
                false,
                Ok(Some((200, Chunked, false))),
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                false,
                Ok(Some((200, UntilClose, true))),
            ),
            (
                "HTTP/1.1 200 OK\r\n\r\n",
                false,
                Ok(Some((200, UntilClose, true))),
            ),
            (
                "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\ncontent-length: 0\r\n\r\n",
                false,
                Ok(Some((200, Length(0), true))),
            ),
            (
                "HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n",
                false,
                Ok(Some((200, Length(0), true))),
            ),
            (
                "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\ncontent-length: 0\r\n\r\n",
                false,
                Ok(Some((200, Length(0), false))),
            ),
            (
                "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n",
                false,
                Ok(Some((204, Length(0), false))),
            ),
            (
                "HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n",
                false,
                Ok(Some((304, Length(0), false))),
            ),
            (
                "HTTP/1.1 100 Continue\r\n\r\n",
                false,
                Ok(Some((100, Length(0), false))),
            ),
            (
                "HTTP/1.1 101 Switching Protocols\r\n\r\n",
                false,
                Ok(Some((101, Length(0), true))),
            ),
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
                true,
                Ok(Some((200, Length(0), false))),
            ),
            ("HTTP/1.1 200 OK\r\ncontent-len", false, Ok(None)),
            // RFC 9112 5.2: each obs-fold is replaced with SP before the value is interpreted.
            (
                "HTTP/1.1 200 OK\r\nConnection: keep-alive,\r\n close\r\ncontent-length: 0\r\n\r\n",
                false,
                Ok(Some((200, Length(0), true))),
            ),
            // RFC 9110 5.6.1: empty list elements are ignored; the final coding is chunked.
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, ,\r\n\r\n",
                false,
                Ok(Some((200, Chunked, false))),
            ),
            // RFC 9112 6.1: HTTP/1.0 with Transfer-Encoding: faulty framing, closed after it.
            (
                "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
                false,
                Ok(Some((200, Chunked, true))),
            ),
            (
                many_headers(30).leak(),
                false,
                Ok(Some((200, Length(2), false))),
            ),
            (
                many_headers(101).leak(),
                false,
                Err("invalid response: too many headers"),
            ),
            (
                "HTTX/1.1 200 OK\r\n\r\n",
                false,
                Err("invalid response: invalid HTTP version"),
            ),
        ] {
            let got = parse_head(head.as_bytes(), head_only)
                .map(|h| h.map(|h| (h.status, h.framing, h.close)))
                .map_err(|f| f.message);
            assert_eq!(got, expected.map_err(String::from), "{head:?}");
        }
    }

    #[test]
    fn the_request_is_built_once_with_host_length_and_headers() {
        let h = |k: &str, v: &str| (k.to_string(), v.to_string());
        for (method, headers, body, expected) in [
            (Method::GET, vec![], "", Ok("GET /p?q=1 HTTP/1.1\r\nhost: a:8\r\n\r\n")),
            (Method::POST, vec![h("content-type", "x")], "{}", Ok("POST /p?q=1 HTTP/1.1\r\nhost: a:8\r\ncontent-type: x\r\ncontent-length: 2\r\n\r\n{}")),
            (Method::PUT, vec![], "", Ok("PUT /p?q=1 HTTP/1.1\r\nhost: a:8\r\ncontent-length: 0\r\n\r\n")),
            (Method::GET, vec![h("Host", "b")], "", Ok("GET /p?q=1 HTTP/1.1\r\nhost: b\r\n\r\n")),
            (Method::GET, vec![h("bad name", "x")], "", Err("invalid request: bad name: invalid HTTP header name")),
            (Method::GET, vec![h("x", "a\nb")], "", Err("invalid request: x: failed to parse header value")),
        ] {
            let t = Target::new(&method, "a:8", "/p?q=1", &headers, body.as_bytes(), "127.0.0.1:1".parse().unwrap(), None, Duration::from_secs(1));
            let got = t.request.map(|b| String::from_utf8(b.to_vec()).unwrap());
            assert_eq!(got, expected.map(String::from).map_err(String::from), "{method} {headers:?}");
        }
    }
}
