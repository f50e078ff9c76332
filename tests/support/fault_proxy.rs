//! Test support: an HTTP/1.1 fault-injecting proxy in front of moto.
//!
//! Point strata (or an SDK client) at [`FaultProxy::url`] instead of moto. Every
//! request is classified by region and service (the SigV4 credential scope of its
//! `Authorization` header) and action (`Action=` of a query API's form body or
//! query string, the operation of a JSON API's `X-Amz-Target`, the operation of an
//! RPCv2-CBOR path `/service/<service>/operation/<Operation>` (CloudWatch), a named
//! Route 53 operation, else `METHOD /path`), counted, and checked against the rules in the
//! order they were added; the first rule that matches and fires applies its
//! [`Fault`]. The proxy runs on its own thread and tokio runtime, so sync tests use
//! it directly; rules can be added and cleared while strata runs.
//!
//! ```ignore
//! let proxy = FaultProxy::in_front_of_sandbox();
//! proxy.add(Rule::new(Fault::error(400, "ValidationError", "boom"))
//!     .region("eu-west-1").action("ExecuteChangeSet"));
//! proxy.add(Rule::new(Fault::rewrite("<State>healthy</State>", "<State>unhealthy</State>"))
//!     .region("eu-west-1").action("DescribeTargetHealth"));
//! proxy.add(Rule::new(Fault::Throttle).probability(0.3));
//! let run = support::cli::strata_at(&proxy.url(), &["deploy", "stacks/example.toml", "--yes"]);
//! assert!(proxy.mutating_calls().is_empty());
//! ```

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{header, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What a matching rule does to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with an AWS-shaped error, without forwarding: XML for query and REST
    /// APIs (EC2's own shape for EC2), JSON for JSON APIs.
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// A throttling error in the service's own words (`Throttling`, EC2's
    /// `RequestLimitExceeded`, JSON APIs' `ThrottlingException`), status 400.
    Throttle,
    /// Close the connection without an answer (the request is not forwarded).
    Drop,
    /// A lost response: forward the request (the sandbox carries it out), then
    /// answer 500 `InternalFailure` instead of the sandbox's answer, as when an
    /// answer is lost on its way back. The SDK retries it.
    LoseResponse,
    /// Wait, then forward as usual.
    Delay(Duration),
    /// Forward, then replace every `from` with `to` in the response body (text
    /// bodies: XML and JSON, not CBOR).
    Rewrite { from: String, to: String },
    /// Run the hook (test code, on a thread of its own, e.g. an SDK call straight to
    /// moto), then forward as usual: to change the sandbox's state at an exact
    /// point of a run. A hook that panics answers the request with a 500 error.
    Before(Hook),
}

/// Test code a [`Fault::Before`] runs.
#[derive(Clone)]
pub struct Hook(Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

impl PartialEq for Hook {
    fn eq(&self, other: &Hook) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Fault {
    pub fn error(status: u16, code: &str, message: &str) -> Fault {
        Fault::Error {
            status,
            code: code.to_string(),
            message: message.to_string(),
        }
    }

    pub fn rewrite(from: &str, to: &str) -> Fault {
        Fault::Rewrite {
            from: from.to_string(),
            to: to.to_string(),
        }
    }

    pub fn before(hook: impl Fn() + Send + Sync + 'static) -> Fault {
        Fault::Before(Hook(Arc::new(hook)))
    }
}

/// Which requests a fault applies to, how often and how many times.
#[derive(Debug, Clone)]
pub struct Rule {
    pub region: Option<String>,
    pub service: Option<String>,
    /// Exact action, or a pattern with `*` (any run of characters), e.g.
    /// `Describe*` or `POST /2013-04-01/hostedzone/*/rrset`.
    pub action: Option<String>,
    pub fault: Fault,
    /// Apply at most this many times, then let requests through.
    pub times: Option<u64>,
    /// Apply to this fraction of matching requests (0.0..=1.0), drawn from the
    /// proxy's seeded RNG.
    pub probability: Option<f64>,
    /// Only calls that change something ([`CallKey::is_mutating`]).
    pub mutating: bool,
    /// Let the first this many matching calls through (the rule fires from the next).
    pub after: u64,
}

impl Rule {
    /// A rule matching every request.
    pub fn new(fault: Fault) -> Rule {
        Rule {
            region: None,
            service: None,
            action: None,
            fault,
            times: None,
            probability: None,
            mutating: false,
            after: 0,
        }
    }

    /// Only calls that change something.
    pub fn mutating(mut self) -> Rule {
        self.mutating = true;
        self
    }

    /// Let the first `n` matching calls through: with `times(1)`, the rule fails
    /// exactly the (n+1)-th matching call.
    pub fn after(mut self, n: u64) -> Rule {
        self.after = n;
        self
    }

    pub fn region(mut self, region: &str) -> Rule {
        self.region = Some(region.to_string());
        self
    }

    /// The SigV4 signing name: `cloudformation`, `ec2`, `autoscaling`,
    /// `elasticloadbalancing`, `monitoring` (CloudWatch), `route53`, `s3`, `dynamodb`, `sts`...
    pub fn service(mut self, service: &str) -> Rule {
        self.service = Some(service.to_string());
        self
    }

    pub fn action(mut self, action: &str) -> Rule {
        self.action = Some(action.to_string());
        self
    }

    pub fn times(mut self, n: u64) -> Rule {
        self.times = Some(n);
        self
    }

    pub fn probability(mut self, p: f64) -> Rule {
        assert!((0.0..=1.0).contains(&p), "probability {p} is not in 0..=1");
        self.probability = Some(p);
        self
    }

    fn matches(&self, call: &CallKey) -> bool {
        (!self.mutating || call.is_mutating())
            && self.region.as_ref().is_none_or(|r| *r == call.region)
            && self.service.as_ref().is_none_or(|s| *s == call.service)
            && self.action.as_ref().is_none_or(|a| glob(a, &call.action))
    }
}

/// `*` matches any run of characters; everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Handle to a rule added to the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(u64);

/// What a request was: region, service, action.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey {
    /// From the SigV4 credential scope; `unknown` when unsigned.
    pub region: String,
    /// The SigV4 signing name; `moto-api` for moto's control API, `unknown` when unsigned.
    pub service: String,
    /// `CreateStack`, `PutItem`, `GetHealthCheckStatus`, or `METHOD /path`.
    pub action: String,
}

impl CallKey {
    /// Whether the call changes something: its action does not start with
    /// Describe / List / Get / Validate / Estimate (for an unnamed REST call: its
    /// method is not GET or HEAD). moto's control API is never counted as mutating.
    pub fn is_mutating(&self) -> bool {
        if self.service == "moto-api" {
            return false;
        }
        if let Some((method, _)) = self.action.split_once(' ') {
            return !matches!(method, "GET" | "HEAD");
        }
        !["Describe", "List", "Get", "Validate", "Estimate"]
            .iter()
            .any(|p| self.action.starts_with(p))
    }
}

/// One request the proxy saw, in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub key: CallKey,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
}

struct ActiveRule {
    id: RuleId,
    rule: Rule,
    fired: u64,
    /// Matching calls seen (for `Rule::after`).
    seen: u64,
}

struct State {
    rules: Vec<ActiveRule>,
    retired: BTreeMap<RuleId, u64>,
    calls: Vec<Call>,
    rng: StdRng,
}

struct Shared {
    state: Mutex<State>,
    next_id: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record the call and pick the fault (if any) for it.
    fn decide(&self, key: CallKey) -> Option<Fault> {
        let mut st = self.lock();
        let State {
            rules, calls, rng, ..
        } = &mut *st;
        let mut chosen = None;
        for active in rules.iter_mut() {
            let r = &active.rule;
            if !r.matches(&key) {
                continue;
            }
            if r.times.is_some_and(|n| active.fired >= n) {
                continue;
            }
            active.seen += 1;
            if active.seen <= r.after {
                continue;
            }
            if let Some(p) = r.probability {
                if !rng.gen_bool(p) {
                    continue;
                }
            }
            active.fired += 1;
            chosen = Some(r.fault.clone());
            break;
        }
        calls.push(Call {
            key,
            fault: chosen.clone(),
        });
        chosen
    }
}

/// A running proxy. Dropping it stops it.
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The seed of the probability draws unless one is given.
pub const DEFAULT_SEED: u64 = 0x5EED;

impl FaultProxy {
    /// A proxy in front of this test binary's moto.
    pub fn in_front_of_sandbox() -> FaultProxy {
        FaultProxy::start(&super::sandbox::endpoint())
    }

    /// A proxy on 127.0.0.1 (free port) forwarding to `upstream` (`http://HOST:PORT`).
    pub fn start(upstream: &str) -> FaultProxy {
        FaultProxy::start_seeded(upstream, DEFAULT_SEED)
    }

    /// Like [`FaultProxy::start`], with the seed of the probability draws.
    pub fn start_seeded(upstream: &str, seed: u64) -> FaultProxy {
        let upstream = upstream.trim_end_matches('/').to_string();
        let upstream_uri: Uri = upstream
            .parse()
            .unwrap_or_else(|e| panic!("bad upstream {upstream}: {e}"));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                rules: Vec::new(),
                retired: BTreeMap::new(),
                calls: Vec::new(),
                rng: StdRng::seed_from_u64(seed),
            }),
            next_id: AtomicU64::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("proxy address");
        let (shutdown, mut stop) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("fault proxy runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let client: Client<HttpConnector, Full<Bytes>> =
                        Client::builder(TokioExecutor::new()).build_http();
                    loop {
                        let (stream, _) = tokio::select! {
                            _ = &mut stop => break,
                            accepted = listener.accept() => match accepted {
                                Ok(a) => a,
                                Err(_) => continue,
                            },
                        };
                        let (state, client, upstream) =
                            (state.clone(), client.clone(), upstream_uri.clone());
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                handle(req, state.clone(), client.clone(), upstream.clone())
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                });
            })
            .expect("spawn the fault proxy thread");
        FaultProxy {
            addr,
            upstream,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`: the endpoint to give strata.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where requests are forwarded.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Add a rule after the existing ones (the first that matches and fires wins).
    pub fn add(&self, rule: Rule) -> RuleId {
        let id = RuleId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        self.shared.lock().rules.push(ActiveRule {
            id,
            rule,
            fired: 0,
            seen: 0,
        });
        id
    }

    /// Remove one rule (its fire count stays readable).
    pub fn remove(&self, id: RuleId) {
        let mut st = self.shared.lock();
        if let Some(i) = st.rules.iter().position(|r| r.id == id) {
            let r = st.rules.remove(i);
            st.retired.insert(r.id, r.fired);
        }
    }

    /// Remove every rule.
    pub fn clear_rules(&self) {
        let mut st = self.shared.lock();
        let rules = std::mem::take(&mut st.rules);
        for r in rules {
            st.retired.insert(r.id, r.fired);
        }
    }

    /// How many times a rule was applied.
    pub fn fired(&self, id: RuleId) -> u64 {
        let st = self.shared.lock();
        st.rules
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.fired)
            .or_else(|| st.retired.get(&id).copied())
            .unwrap_or(0)
    }

    /// Every request seen so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// Forget the requests seen so far (rules stay).
    pub fn clear_calls(&self) {
        self.shared.lock().calls.clear();
    }

    /// Requests per (region, service, action).
    pub fn counts(&self) -> BTreeMap<CallKey, u64> {
        let mut counts = BTreeMap::new();
        for call in self.shared.lock().calls.iter() {
            *counts.entry(call.key.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Requests matching the given region / service / action (None = any; the
    /// action may use `*`).
    pub fn count(&self, region: Option<&str>, service: Option<&str>, action: Option<&str>) -> u64 {
        let filter = Rule {
            region: region.map(str::to_string),
            service: service.map(str::to_string),
            action: action.map(str::to_string),
            ..Rule::new(Fault::Drop)
        };
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| filter.matches(&c.key))
            .count() as u64
    }

    /// Block until a request matching region / service / action (None = any; `*`
    /// in the action) has been seen, at most `limit`; whether one was. For tests
    /// that act at a precise point of a run, e.g. kill strata once region 2's
    /// `ExecuteChangeSet` went out.
    pub fn wait_for(
        &self,
        region: Option<&str>,
        service: Option<&str>,
        action: Option<&str>,
        limit: Duration,
    ) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if self.count(region, service, action) > 0 {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Mutating requests per (region, service, action) — see [`CallKey::is_mutating`].
    pub fn mutating_calls(&self) -> BTreeMap<CallKey, u64> {
        self.counts()
            .into_iter()
            .filter(|(k, _)| k.is_mutating())
            .collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The error a service fn returns to make hyper close the connection unanswered.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a fault rule")
    }
}

impl std::error::Error for Dropped {}

type Reply = Result<Response<Full<Bytes>>, Dropped>;

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Uri,
) -> Reply {
    let (mut parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(Dropped),
    };
    let key = classify(&parts, &body);
    let protocol = Protocol::of(&parts, &key);
    let fault = shared.decide(key.clone());
    let mut rewrite = None;
    let mut lose = false;
    match fault {
        Some(Fault::Error {
            status,
            code,
            message,
        }) => return Ok(error_response(protocol, status, &code, &message)),
        // S3 throttles with 503 SlowDown, which also reaches a HEAD request (whose
        // response has no body to carry a code)
        // (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
        Some(Fault::Throttle) if key.service == "s3" => {
            return Ok(error_response(
                protocol,
                503,
                "SlowDown",
                "Please reduce your request rate.",
            ));
        }
        Some(Fault::Throttle) => {
            let code = match protocol {
                Protocol::Ec2 => "RequestLimitExceeded",
                Protocol::Json | Protocol::Cbor => "ThrottlingException",
                _ => "Throttling",
            };
            return Ok(error_response(protocol, 400, code, "Rate exceeded"));
        }
        Some(Fault::Drop) => return Err(Dropped),
        Some(Fault::LoseResponse) => lose = true,
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Rewrite { from, to }) => rewrite = Some((from, to)),
        Some(Fault::Before(Hook(hook))) => {
            let (done, ran) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                hook();
                let _ = done.send(());
            });
            if ran.await.is_err() {
                return Ok(error_response(
                    protocol,
                    500,
                    "ProxyHookFailed",
                    "the fault proxy's hook panicked (see the test's output)",
                ));
            }
        }
        None => {}
    }

    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let mut target = upstream.into_parts();
    target.path_and_query = Some(path_and_query.parse().expect("valid path"));
    parts.uri = Uri::from_parts(target).expect("valid upstream uri");
    strip_hop_by_hop(&mut parts.headers);
    let forwarded = Request::from_parts(parts, Full::new(body));
    let answer = match client.request(forwarded).await {
        Ok(a) => a,
        Err(e) => {
            return Ok(error_response(
                protocol,
                502,
                "ProxyUpstreamError",
                &format!("fault proxy cannot reach the upstream: {e}"),
            ))
        }
    };
    let (mut head, body) = answer.into_parts();
    let mut bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(Dropped),
    };
    if lose {
        return Ok(error_response(
            protocol,
            500,
            "InternalFailure",
            "the fault proxy lost the answer (the request was carried out)",
        ));
    }
    if let Some((from, to)) = rewrite {
        let text = String::from_utf8_lossy(&bytes).replace(&from, &to);
        bytes = Bytes::from(text);
    }
    strip_hop_by_hop(&mut head.headers);
    head.headers.remove(header::CONTENT_LENGTH);
    Ok(Response::from_parts(head, Full::new(bytes)))
}

fn strip_hop_by_hop(headers: &mut hyper::HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
}

/// How a service speaks, which decides the shape of an injected error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// awsQuery: CloudFormation, AutoScaling, ELBv2, CloudWatch, STS, SNS, SQS(xml)...
    Query,
    /// ec2Query.
    Ec2,
    /// awsJson (X-Amz-Target): DynamoDB, ...
    Json,
    /// restXml: Route 53, S3.
    RestXml,
    /// Smithy RPCv2-CBOR (`smithy-protocol: rpc-v2-cbor`): CloudWatch.
    Cbor,
}

impl Protocol {
    fn of(parts: &hyper::http::request::Parts, key: &CallKey) -> Protocol {
        if parts
            .headers
            .get("smithy-protocol")
            .is_some_and(|v| v == "rpc-v2-cbor")
        {
            Protocol::Cbor
        } else if parts.headers.contains_key("x-amz-target") {
            Protocol::Json
        } else if key.service == "ec2" {
            Protocol::Ec2
        } else if key.action.contains(' ') || key.service == "route53" || key.service == "s3" {
            Protocol::RestXml
        } else {
            Protocol::Query
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn error_response(
    protocol: Protocol,
    status: u16,
    code: &str,
    message: &str,
) -> Response<Full<Bytes>> {
    const REQUEST_ID: &str = "fault-proxy-0000-0000-0000-000000000000";
    let (content_type, body) = match protocol {
        Protocol::Json => (
            "application/x-amz-json-1.0",
            serde_json::json!({ "__type": code, "message": message })
                .to_string()
                .into_bytes(),
        ),
        Protocol::Cbor => ("application/cbor", cbor_error(code, message)),
        Protocol::Ec2 => (
            "text/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
                 <Code>{}</Code><Message>{}</Message></Error></Errors>\
                 <RequestID>{REQUEST_ID}</RequestID></Response>",
                xml_escape(code),
                xml_escape(message)
            )
            .into_bytes(),
        ),
        Protocol::Query | Protocol::RestXml => (
            "text/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error>\
                 <Type>{}</Type><Code>{}</Code><Message>{}</Message></Error>\
                 <RequestId>{REQUEST_ID}</RequestId></ErrorResponse>",
                if status >= 500 { "Receiver" } else { "Sender" },
                xml_escape(code),
                xml_escape(message)
            )
            .into_bytes(),
        ),
    };
    let mut response = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header(header::CONTENT_TYPE, content_type)
        .header("x-amzn-RequestId", REQUEST_ID);
    if protocol == Protocol::Json {
        response = response.header("x-amzn-ErrorType", code);
    }
    if protocol == Protocol::Cbor {
        response = response.header("smithy-protocol", "rpc-v2-cbor");
    }
    response
        .body(Full::new(Bytes::from(body)))
        .expect("valid error response")
}

/// An RPCv2-CBOR error body: the map `{"__type": code, "message": message}`.
fn cbor_error(code: &str, message: &str) -> Vec<u8> {
    /// A CBOR text string (major type 3) with its length header.
    fn text(out: &mut Vec<u8>, s: &str) {
        let len = s.len();
        match len {
            0..=23 => out.push(0x60 | len as u8),
            24..=0xff => out.extend([0x78, len as u8]),
            0x100..=0xffff => {
                out.push(0x79);
                out.extend((len as u16).to_be_bytes());
            }
            _ => {
                out.push(0x7a);
                out.extend((len as u32).to_be_bytes());
            }
        }
        out.extend(s.as_bytes());
    }
    let mut out = vec![0xa2]; // a map of two pairs
    for (k, v) in [("__type", code), ("message", message)] {
        text(&mut out, k);
        text(&mut out, v);
    }
    out
}

/// Region, service and action of a request.
fn classify(parts: &hyper::http::request::Parts, body: &[u8]) -> CallKey {
    let path = parts.uri.path();
    if path.starts_with("/moto-api") {
        return CallKey {
            region: "unknown".to_string(),
            service: "moto-api".to_string(),
            action: format!("{} {path}", parts.method),
        };
    }
    let (region, service) =
        credential_scope(parts).unwrap_or_else(|| ("unknown".to_string(), "unknown".to_string()));
    let action = if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        target.rsplit('.').next().unwrap_or(target).to_string()
    } else if let Some(operation) = rpc_v2_operation(path) {
        operation.to_string()
    } else if let Some(action) = form_value(body, "Action").or_else(|| {
        parts
            .uri
            .query()
            .and_then(|q| form_value(q.as_bytes(), "Action"))
    }) {
        action
    } else if service == "route53" {
        route53_operation(parts.method.as_str(), path)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} {path}", parts.method))
    } else {
        format!("{} {path}", parts.method)
    };
    CallKey {
        region,
        service,
        action,
    }
}

/// The operation of an RPCv2 path: `/service/<service>/operation/<Operation>`.
fn rpc_v2_operation(path: &str) -> Option<&str> {
    match path.trim_matches('/').split('/').collect::<Vec<_>>()[..] {
        ["service", _, "operation", op] if !op.is_empty() => Some(op),
        _ => None,
    }
}

/// `(region, service)` from `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...`
/// or a presigned URL's `X-Amz-Credential`.
fn credential_scope(parts: &hyper::http::request::Parts) -> Option<(String, String)> {
    let credential = match parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(auth) => {
            let start = auth.find("Credential=")? + "Credential=".len();
            auth[start..]
                .split([',', ' '])
                .next()
                .unwrap_or("")
                .to_string()
        }
        None => form_value(parts.uri.query()?.as_bytes(), "X-Amz-Credential")?,
    };
    let fields: Vec<&str> = credential.split('/').collect();
    if fields.len() < 5 {
        return None;
    }
    let n = fields.len();
    Some((fields[n - 3].to_string(), fields[n - 2].to_string()))
}

/// The decoded value of `name` in an `application/x-www-form-urlencoded` body.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The Route 53 operations strata uses, from method and path.
fn route53_operation(method: &str, path: &str) -> Option<&'static str> {
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    // p[0] is the API version, "2013-04-01".
    Some(match (method, &p[1..]) {
        ("POST", ["hostedzone"]) => "CreateHostedZone",
        ("GET", ["hostedzone"]) => "ListHostedZones",
        ("GET", ["hostedzonesbyname"]) => "ListHostedZonesByName",
        ("GET", ["hostedzone", _]) => "GetHostedZone",
        ("DELETE", ["hostedzone", _]) => "DeleteHostedZone",
        ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("GET", ["change", _]) => "GetChange",
        ("POST", ["healthcheck"]) => "CreateHealthCheck",
        ("GET", ["healthcheck"]) => "ListHealthChecks",
        ("GET", ["healthcheck", _]) => "GetHealthCheck",
        ("POST", ["healthcheck", _]) => "UpdateHealthCheck",
        ("DELETE", ["healthcheck", _]) => "DeleteHealthCheck",
        ("GET", ["healthcheck", _, "status"]) => "GetHealthCheckStatus",
        ("POST", ["tags", _, _]) => "ChangeTagsForResource",
        ("GET", ["tags", _, _]) => "ListTagsForResource",
        _ => return None,
    })
}
