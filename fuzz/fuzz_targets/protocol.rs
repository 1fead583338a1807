//! Protocol fuzzing: arbitrary bytes at a live server, either from the first byte (startup
//! packet, SSL/GSS/cancel requests) or after a valid startup (query, Parse/Bind/Execute,
//! COPY, Sync, Terminate messages with hostile lengths and contents). The server must never
//! panic, and must keep answering real clients.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "harness.rs"]
mod harness;

fn startup_packet() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608u32.to_be_bytes()); // protocol 3.0
    for (k, v) in [("user", "fuzz"), ("database", "sightline")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    packet
}

static RUNS: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let h = harness::harness();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    h.runtime.block_on(async {
        let Ok(mut socket) = tokio::net::TcpStream::connect(h.addr).await else {
            panic!("the server stopped accepting TCP connections");
        };
        let mut input = Vec::new();
        if mode % 2 == 1 {
            input.extend_from_slice(&startup_packet());
        }
        input.extend_from_slice(rest);
        // Terminate: the server closes once it has handled everything before it, so each
        // input costs its processing time rather than a read timeout.
        input.extend_from_slice(b"X\x00\x00\x00\x04");
        let exchange = async {
            socket.write_all(&input).await?;
            let mut buf = vec![0u8; 64 * 1024];
            // Read whatever comes back until the server closes or goes quiet.
            loop {
                match tokio::time::timeout(Duration::from_millis(100), socket.read(&mut buf)).await
                {
                    Ok(Ok(0)) | Err(_) => break,
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => return Err(e),
                }
            }
            Ok::<(), std::io::Error>(())
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), exchange).await;
        drop(socket);
        if RUNS.fetch_add(1, Ordering::Relaxed) % 200 == 0 {
            h.assert_alive().await;
        }
    });
});
