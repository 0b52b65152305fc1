//! The whole request pipeline: raw bytes arrive on a connection as HTTP/1.1 and go through hyper,
//! the limits, the control endpoints or the EC2 pipeline (form parsing, signature, decoding,
//! authorization, the service on an in-memory store, XML), and back out. Whatever the bytes, the
//! server must answer or close the connection, never panic, hang or answer 500 for a client's
//! mistake (the only 5xx a client can cause is EC2's 500 InsufficientInstanceCapacity).

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ec2d::app::App;
use ec2d::config::Config;
use ec2d::server::Server;
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct World {
    runtime: tokio::runtime::Runtime,
    server: Arc<Server>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let config = Config { max_body_bytes: 64 * 1024, ..Config::default() };
        let app = App::new(config, ec2_store::Store::memory()).expect("the app");
        World { runtime, server: Server::new(Arc::new(app)) }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    // Every input starts from an empty store, so that inputs do not depend on each other.
    w.server.app.store.reset().expect("reset");
    let answer = w.runtime.block_on(async {
        let (client, server_side) = tokio::io::duplex(1 << 16);
        let server = Arc::clone(&w.server);
        let conn = tokio::spawn(ec2d::server::serve_connection(server, server_side, Duration::from_secs(5), true));
        let (mut reader, mut writer) = tokio::io::split(client);
        let input = data.to_vec();
        let writing = tokio::spawn(async move {
            let _ = writer.write_all(&input).await;
            let _ = writer.shutdown().await;
        });
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "the connection neither answered nor closed within 20 s");
        let _ = writing.await;
        let _ = conn.await;
        out
    });
    // Every response on the connection: none may be a 5xx other than EC2's capacity error.
    let text = String::from_utf8_lossy(&answer);
    for (i, _) in text.match_indices("HTTP/1.1 5") {
        let rest = &text[i..];
        let end = rest[1..].find("HTTP/1.1 ").map_or(rest.len(), |e| e + 1);
        assert!(rest[..end].contains("InsufficientInstanceCapacity"), "a 5xx: {}", &rest[..end.min(2000)]);
    }
});
