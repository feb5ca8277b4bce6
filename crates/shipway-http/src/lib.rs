//! shipway's one HTTP(S) client for outgoing calls — the CLI's `--server` client, the
//! Rollout analyses' metric providers, the notification services — so TLS roots, the crypto
//! provider (ring, the tree's only one), timeouts, body limits and error messages are
//! decided once.
//!
//! Errors never contain a response body and say the innermost cause of a failed
//! connection ("connection refused"), not hyper's "client error (Connect)". Callers whose
//! URLs hold secrets (webhook tokens) redact the messages themselves.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;

/// An answer: status, headers and (at most the limit of) the body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body, cut at the request's limit.
    pub body: Bytes,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The method, URL or a header is not valid.
    #[error("the request could not be built: {0}")]
    Invalid(String),
    /// Nothing came back in time.
    #[error("no answer within {0}s")]
    Timeout(u64),
    /// The connection failed, or broke before the answer was complete.
    #[error("{0}")]
    Unreachable(String),
}

/// A pooled HTTP/1.1 client for `http://` and `https://` URLs. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<HttpConnector>,
        Full<Bytes>,
    >,
    roots_warning: Option<String>,
}

impl Client {
    /// A client trusting the system's root certificates. Without any (a minimal container),
    /// plain HTTP still works and HTTPS fails with a TLS error naming the missing trust,
    /// which is clearer than refusing to start; [`Client::roots_warning`] says so.
    pub fn new() -> Client {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (builder, roots_warning) = match hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(Arc::clone(&provider))
        {
            Ok(builder) => (builder, None),
            Err(error) => {
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default TLS versions")
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                (
                    hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config),
                    Some(format!(
                        "no system TLS root certificates ({error}): HTTPS calls will fail"
                    )),
                )
            }
        };
        let connector = builder.https_or_http().enable_http1().build();
        Client {
            inner:
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build(connector),
            roots_warning,
        }
    }

    /// Why HTTPS will fail, when the system has no root certificates.
    pub fn roots_warning(&self) -> Option<&str> {
        self.roots_warning.as_deref()
    }

    /// Sends one request and reads the answer, all within `timeout`; a body longer than
    /// `max_body` bytes is an error.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Response, Error> {
        let mut request = http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| Error::Unreachable(root_cause(&e)))?;
            let status = response.status().as_u16();
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, max_body)
                .collect()
                .await
                .map_err(|e| Error::Unreachable(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok(Response {
                status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| Error::Timeout(timeout.as_secs()))?
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

/// The innermost cause of an error, as people read it: "connection refused", not
/// "client error (Connect)". Go-style "(os error 111)" suffixes are dropped.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let text = cause.to_string();
    let text = text
        .split_once(" (os error")
        .map_or(text.as_str(), |(head, _)| head);
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn answers_headers_and_limits_and_refused_connections() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut buffer = vec![0u8; 4096];
                let n = stream.read(&mut buffer).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buffer[..n]).to_string();
                let body = if request.contains("x-test: yes") {
                    "hello"
                } else {
                    "no header"
                };
                let reply = format!(
                    "HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            }
        });
        let client = Client::new();
        let url = format!("http://{address}/x");
        let headers = [("x-test".to_string(), "yes".to_string())];
        let answer = client
            .send(
                "POST",
                &url,
                &headers,
                b"{}".to_vec(),
                Duration::from_secs(5),
                1024,
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 429);
        assert!(!answer.is_success());
        assert_eq!(answer.headers["retry-after"], "7");
        assert_eq!(&answer.body[..], b"hello");
        let cut = client
            .send("GET", &url, &headers, Vec::new(), Duration::from_secs(5), 2)
            .await;
        assert!(matches!(cut, Err(Error::Unreachable(_))), "{cut:?}");

        // A port nothing listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let error = client
            .send(
                "GET",
                &format!("http://{closed}/"),
                &[],
                Vec::new(),
                Duration::from_secs(5),
                1024,
            )
            .await
            .unwrap_err();
        assert_eq!(error, Error::Unreachable("connection refused".into()));
        let invalid = client
            .send(
                "GET",
                "not a url",
                &[],
                Vec::new(),
                Duration::from_secs(5),
                1024,
            )
            .await
            .unwrap_err();
        assert!(matches!(invalid, Error::Invalid(_)), "{invalid:?}");
    }
}
