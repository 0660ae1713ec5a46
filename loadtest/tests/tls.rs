//! HTTPS with the user's certificate: an ALB is reached by its own DNS name, but the ACM
//! certificate it serves covers the app's domain, so the engine connects to one address and
//! presents another name (TLS SNI and `Host`), like curl's `--connect-to`. A local TLS server
//! with a certificate for `app.example.test`, issued by a test CA the client is told to trust.
//!
//! The fake reproduces what an ALB HTTPS listener serves: a certificate for the user's domain
//! whatever name the client presents ("the domain name on the certificate must match the custom
//! domain name record so that we can verify the TLS connection",
//! https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html),
//! so a client presenting the ALB's own name, or an IP address, must reject it.

use bytes::Bytes;
use fargate_loadtest::{judge, run, Config, Model, Thresholds};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// (SNI, Host header) of each request answered.
type Seen = Arc<Mutex<Vec<(Option<String>, String)>>>;

struct TlsServer {
    port: u16,
    ca_pem: String,
    seen: Seen,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tls_server(name: &str) -> TlsServer {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "FargateApp test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca_cert, &ca_key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, log) = (acceptor.clone(), log.clone());
            tokio::spawn(async move {
                // A client that rejects the certificate ends the handshake: nothing to serve.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let sni = tls.get_ref().1.server_name().map(String::from);
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let host = req
                        .headers()
                        .get(hyper::header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    log.lock().unwrap().push((sni.clone(), host));
                    async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from("ok"))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    TlsServer {
        port,
        ca_pem: ca_cert.pem(),
        seen,
        task,
    }
}

fn config(url: &str, server: &TlsServer) -> Config {
    let mut cfg = Config::new(url, Model::Concurrency(1), Duration::from_millis(300));
    cfg.extra_root_certs_pem = Some(server.ca_pem.clone());
    cfg.timeout = Duration::from_secs(2);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presenting_the_certificates_name_while_connecting_elsewhere_passes() {
    let server = tls_server("app.example.test").await;
    let mut cfg = config(
        &format!("https://app.example.test:{}/health", server.port),
        &server,
    );
    // Only the address: the port comes from the URL.
    cfg.connect_to = Some("127.0.0.1".into());
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert!(r.ok > 0 && r.errors() == 0, "{r:?}");
    assert!(judge(&r, &Thresholds::defaults()).passed);
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len() as u64, r.ok);
    assert_eq!(
        seen[0],
        (
            Some("app.example.test".to_string()),
            format!("app.example.test:{}", server.port)
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presenting_another_name_fails_with_a_tls_reason() {
    let server = tls_server("app.example.test").await;
    // Connecting by address presents no matching name: the certificate is refused.
    let cfg = config(&format!("https://127.0.0.1:{}/", server.port), &server);
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert!(r.ok == 0 && r.connection_errors > 0, "{r:?}");
    let reasons: Vec<_> = r.reasons.keys().collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with("TLS: invalid peer certificate"),
        "{reasons:?}"
    );
    let v = judge(&r, &Thresholds::defaults());
    assert!(!v.passed);
    // A name the certificate does not cover, through connect_to: refused too.
    let mut cfg = config(
        &format!("https://other.example.test:{}/", server.port),
        &server,
    );
    cfg.connect_to = Some(format!("127.0.0.1:{}", server.port));
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert!(r.ok == 0, "{r:?}");
    assert!(
        r.reasons.keys().all(|k| k.starts_with("TLS: ")),
        "{:?}",
        r.reasons
    );
    assert!(server.seen.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_an_untrusted_issuer_fails_with_a_tls_reason() {
    let server = tls_server("app.example.test").await;
    let mut cfg = config(
        &format!("https://app.example.test:{}/", server.port),
        &server,
    );
    cfg.extra_root_certs_pem = None;
    cfg.connect_to = Some(format!("127.0.0.1:{}", server.port));
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert!(r.ok == 0, "{r:?}");
    let reason = r.reasons.keys().next().unwrap();
    assert!(
        reason.starts_with("TLS: invalid peer certificate"),
        "{reason}"
    );
}

/// Issue 21: `-k/--insecure` accepts a certificate no trusted issuer signed (a self-signed
/// target); without it the same run fails on the certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_accepts_an_untrusted_certificate_and_is_off_by_default() {
    let server = tls_server("app.example.test").await;
    let mut cfg = config(&format!("https://127.0.0.1:{}/", server.port), &server);
    cfg.extra_root_certs_pem = None;
    assert!(!cfg.insecure, "off by default");
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert!(r.ok == 0 && r.connection_errors > 0, "{r:?}");
    cfg.insecure = true;
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert!(r.ok > 0 && r.errors() == 0, "{r:?}");
}
