//! A user-space TCP proxy that adds latency (no `tc netem` here): every chunk going from
//! the client to the upstream waits `delay` first, so each HTTP request on a keep-alive
//! connection arrives `delay` late. The delay can be changed while it runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running proxy on 127.0.0.1; dropping it stops accepting and closes its connections.
pub struct SlowProxy {
    addr: SocketAddr,
    delay_us: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl SlowProxy {
    /// Listens on a free port and forwards to `upstream` (which must be on 127.0.0.1).
    pub async fn start(upstream: SocketAddr, delay: Duration) -> anyhow::Result<SlowProxy> {
        anyhow::ensure!(
            upstream.ip().is_loopback(),
            "the latency proxy only forwards to 127.0.0.1, not {upstream}"
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind the latency proxy")?;
        let addr = listener.local_addr()?;
        let delay_us = Arc::new(AtomicU64::new(delay.as_micros() as u64));
        let d = delay_us.clone();
        let accept = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let d = d.clone();
                conns.spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        let _ = pipe(client, server, d).await;
                    }
                });
            }
        });
        Ok(SlowProxy {
            addr,
            delay_us,
            accept,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_delay(&self, delay: Duration) {
        self.delay_us
            .store(delay.as_micros() as u64, Ordering::Relaxed);
    }
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.accept.abort();
    }
}

async fn pipe(
    client: TcpStream,
    server: TcpStream,
    delay_us: Arc<AtomicU64>,
) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = cr.read(&mut buf).await?;
            if n == 0 {
                return sw.shutdown().await;
            }
            let us = delay_us.load(Ordering::Relaxed);
            if us > 0 {
                tokio::time::sleep(Duration::from_micros(us)).await;
            }
            sw.write_all(&buf[..n]).await?;
        }
    };
    let down = async move {
        tokio::io::copy(&mut sr, &mut cw).await?;
        cw.shutdown().await
    };
    let (a, b) = tokio::join!(up, down);
    a.and(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_pass_through_both_ways_with_the_delay_added() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = echo.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = echo.accept().await.unwrap();
            let mut buf = [0u8; 64];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                s.write_all(&buf[..n]).await.unwrap();
            }
        });
        let proxy = SlowProxy::start(upstream, Duration::from_millis(30))
            .await
            .unwrap();
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        let started = std::time::Instant::now();
        c.write_all(b"ping").await.unwrap();
        let mut back = [0u8; 4];
        c.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ping");
        // The delay is a sleep before forwarding, so it is a lower bound.
        assert!(started.elapsed() >= Duration::from_millis(30));
        proxy.set_delay(Duration::ZERO);
        c.write_all(b"pong").await.unwrap();
        c.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"pong");
    }

    #[tokio::test]
    async fn only_loopback_upstreams_are_accepted() {
        let far: SocketAddr = "10.1.2.3:80".parse().unwrap();
        assert!(SlowProxy::start(far, Duration::ZERO).await.is_err());
    }
}
