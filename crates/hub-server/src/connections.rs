//! The bound on client connections: each accepted connection holds a place among
//! `server.max_connections` until it closes; one accepted past the bound is closed at once,
//! before TLS or HTTP/2 spend anything on it: the caller sees a lost connection and retries.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::Connected;

/// How often the refusal of a connection is logged at most.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// A connection holding its place among the open ones.
#[derive(Debug)]
pub struct Counted<T> {
    inner: T,
    _place: OwnedSemaphorePermit,
}

/// Admits the connections of `incoming` while fewer than `max` are open; closes the others
/// as soon as they are accepted.
pub fn limit<S, T, E>(incoming: S, max: usize) -> impl Stream<Item = Result<Counted<T>, E>>
where
    S: Stream<Item = Result<T, E>>,
{
    let places = Arc::new(Semaphore::new(max));
    let last_warned = AtomicU64::new(0);
    incoming.filter_map(move |accepted| {
        let conn = match accepted {
            Ok(conn) => conn,
            Err(e) => return Some(Err(e)),
        };
        match places.clone().try_acquire_owned() {
            Ok(place) => Some(Ok(Counted {
                inner: conn,
                _place: place,
            })),
            Err(_) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let last = last_warned.load(Ordering::Relaxed);
                if now >= last + WARN_EVERY.as_secs()
                    && last_warned
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(
                        max,
                        "closing new connections: {max} are open (server.max_connections)"
                    );
                }
                None
            }
        }
    })
}

impl<T: Connected> Connected for Counted<T> {
    type ConnectInfo = T::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
