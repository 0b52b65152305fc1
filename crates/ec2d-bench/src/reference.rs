//! The bare reference server: hyper answering every request with the same 4 KB body, in a process of its own
//! (the bench started again with `--reference-server PORT`), so that the bench measures it exactly as it measures
//! ec2d: the ceiling that HTTP/1.1 keep-alive on loopback leaves on this machine.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The size of the fixed answer.
pub const BODY_BYTES: usize = 4096;

fn body() -> Bytes {
    let mut xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ReferenceResponse>".to_vec();
    let close = b"</ReferenceResponse>";
    while xml.len() + close.len() < BODY_BYTES {
        xml.push(b'x');
    }
    xml.extend_from_slice(close);
    Bytes::from(xml)
}

async fn answer(req: Request<Incoming>, body: Bytes) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the request like a real server would (it is small); an error only ends this connection.
    let _ = req.into_body().collect().await;
    Ok(Response::builder()
        .header("content-type", "text/xml;charset=UTF-8")
        .body(Full::new(body))
        .expect("a valid response"))
}

/// Serves on 127.0.0.1:`port` until killed, on a runtime like ec2d's (one worker thread per CPU).
pub fn serve(port: u16) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        let body = body();
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let body = body.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| answer(req, body.clone()));
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_body_is_4_kb_of_xml() {
        let b = super::body();
        assert_eq!(b.len(), super::BODY_BYTES);
        assert!(b.starts_with(b"<?xml") && b.ends_with(b"</ReferenceResponse>"));
    }
}
