//! CloudFront in front of an edge-optimized custom domain, in miniature:
//! an HTTPS proxy that adds its own hop (a delay and its own origin
//! connections) and CloudFront's response headers, mapping the custom
//! domain's root onto the API's stage.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use super::gateway_body::GatewayBody;
use super::listener::{self, LabTls};
use super::upstream::{Connector, Policy, Upstream};

#[derive(Debug, Clone, PartialEq)]
pub struct EdgeConfig {
    pub delay: Duration,
    pub origin: Policy,
    pub stage: String,
    pub pop: String,
    /// The execute-api host the edge sends to (SNI and Host).
    pub origin_host: String,
}

pub async fn start(
    config: EdgeConfig,
    gateway: SocketAddr,
    tls: LabTls,
    origin_tls: rustls::ClientConfig,
    cancel: CancellationToken,
) -> io::Result<SocketAddr> {
    let listeners = listener::bind_dual().await?;
    let addr = listeners.addr;
    let name = ServerName::try_from(config.origin_host.clone()).map_err(io::Error::other)?;
    let upstream = Upstream::new(
        Connector::Tls {
            addr: gateway,
            tls: TlsConnector::from(Arc::new(origin_tls)),
            name,
        },
        config.origin,
    );
    let config = Arc::new(config);
    let (tx, mut rx) = mpsc::channel(256);
    if let Some(v6) = listeners.v6 {
        tokio::spawn(listener::accept_loop(v6, None, tx.clone(), cancel.clone()));
    }
    tokio::spawn(listener::accept_loop(listeners.v4, None, tx, cancel.clone()));
    tokio::spawn(async move {
        while let Some(stream) = rx.recv().await {
            let (config, upstream, tls, cancel) =
                (config.clone(), upstream.clone(), tls.clone(), cancel.clone());
            tokio::spawn(async move {
                let Ok(stream) = tls.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |req| {
                    let (config, upstream) = (config.clone(), upstream.clone());
                    async move { Ok::<_, Infallible>(handle(&config, &upstream, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = conn => {}
                    _ = cancel.cancelled() => {}
                }
            });
        }
    });
    Ok(addr)
}

async fn handle(
    config: &EdgeConfig,
    upstream: &Arc<Upstream>,
    req: Request<Incoming>,
) -> Response<GatewayBody> {
    if !config.delay.is_zero() {
        tokio::time::sleep(config.delay).await;
    }
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let origin_path = format!("/{}{}", config.stage, if path == "/" { "" } else { path });
    let mut forwarded = Request::builder()
        .method(req.method().clone())
        .uri(origin_path)
        .header("host", &config.origin_host);
    if let Some(trace) = req.headers().get(crate::probe::trace::TRACE_HEADER) {
        forwarded = forwarded.header(crate::probe::trace::TRACE_HEADER, trace.clone());
    }
    let result = async {
        let forwarded = forwarded
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let mut conn = match upstream.checkout() {
            Some(c) => c,
            None => upstream.connect().await.map_err(|e| e.to_string())?,
        };
        let resp = conn.send_request(forwarded).await.map_err(|e| e.to_string())?;
        let (parts, body) = resp.into_parts();
        // A streamed answer (no length) is passed on as it comes, as
        // CloudFront does; its origin read timeout is not modelled.
        let body = if parts.headers.contains_key("content-length") {
            let whole = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
            upstream.checkin(conn);
            GatewayBody::full(whole)
        } else {
            let upstream = upstream.clone();
            GatewayBody::stream(body, Duration::from_secs(3600), move |whole| {
                if whole {
                    upstream.checkin(conn);
                }
            })
        };
        Ok::<_, String>((parts, body))
    }
    .await;
    let (mut resp, cache) = match result {
        Ok((parts, body)) => {
            let mut resp = Response::new(body);
            *resp.status_mut() = parts.status;
            for (k, v) in parts.headers.iter() {
                if k != "content-length" && k != "connection" && k != "keep-alive" && k != "transfer-encoding"
                {
                    resp.headers_mut().append(k.clone(), v.clone());
                }
            }
            // CloudFront reports error statuses from the origin as errors too.
            let cache = if parts.status.as_u16() >= 400 {
                "Error from cloudfront"
            } else {
                "Miss from cloudfront"
            };
            (resp, cache)
        }
        Err(_) => {
            let mut resp = Response::new(GatewayBody::full(Bytes::from_static(b"<html>502 ERROR</html>")));
            *resp.status_mut() = StatusCode::BAD_GATEWAY;
            (resp, "Error from cloudfront")
        }
    };
    let h = resp.headers_mut();
    h.insert(
        "via",
        HeaderValue::from_static("1.1 0123456789abcdef.cloudfront.net (CloudFront)"),
    );
    h.insert("x-cache", HeaderValue::from_static(cache));
    if let Ok(pop) = HeaderValue::from_str(&config.pop) {
        h.insert("x-amz-cf-pop", pop);
    }
    if let Ok(id) = HeaderValue::from_str(&crate::probe::trace::new_root_id(std::time::SystemTime::now())) {
        h.insert("x-amz-cf-id", id);
    }
    resp
}
