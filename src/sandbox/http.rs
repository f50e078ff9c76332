//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream`, enough to talk to
//! moto's control API on 127.0.0.1 (`GET /moto-api/`, `POST /moto-api/reset`).

use super::SandboxError;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response: status code and body (as text, lossily decoded).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Send one request with `Connection: close` and read the whole answer.
/// Every step is bounded by `timeout`.
pub fn request(
    method: &'static str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> Result<Response, SandboxError> {
    let url = format!("http://127.0.0.1:{port}{path}");
    let fail = |detail: String| SandboxError::Http {
        method,
        url: url.clone(),
        detail,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| fail(e.to_string()))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| fail(e.to_string()))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: strata-sandbox\r\n\
         Accept: */*\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .map_err(|e| fail(format!("sending the request: {e}")))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| fail(format!("reading the response: {e}")))?;
    parse(&raw).ok_or_else(|| fail("malformed HTTP response".to_string()))
}

/// Parse a complete `Connection: close` response (no chunked bodies from moto's
/// control API; a chunked one is returned raw, which is fine for status checks).
fn parse(raw: &[u8]) -> Option<Response> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status_line = head.lines().next()?;
    let mut parts = status_line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    Some(Response {
        status,
        body: body.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "ok");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"SSH-2.0-OpenSSH\r\n").is_none());
        assert!(parse(b"FOO 200 OK\r\n\r\n").is_none());
    }
}
