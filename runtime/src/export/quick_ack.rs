//! The gRPC exporters' TCP connection, acknowledging what it reads at once (Linux `TCP_QUICKACK`
//! after every read that returned data).
//!
//! Why: a gRPC receiver whose accepted sockets keep Nagle's algorithm on (rotel 0.0.1-alpha10;
//! any tonic server started with `serve_with_incoming`, which ignores its `tcp_nodelay`) stalls
//! every export that follows one of its HTTP/2 WINDOW_UPDATE frames by 40 ms. The receiver sends
//! WINDOW_UPDATE (13 bytes) while it reads a request; its answer (36 bytes) follows before that
//! frame is acknowledged, so Nagle holds the answer back until our ACK; and our kernel delays the
//! ACK (40 ms, the minimum delayed-ACK timeout) because we have nothing to send while we wait for
//! that answer. WINDOW_UPDATE comes once per so many bytes received, so the stall is a cost per
//! byte: uncompressed OTLP/gRPC on loopback delivered about 55,000 spans/s against rotel while
//! the same client delivered 100,000 with 0 lost to a receiver that sets `TCP_NODELAY`
//! (BENCHMARKS.md, "Uncompressed gRPC's ceiling"). Acknowledging at once removes the wait on our
//! side, whatever the receiver does; it costs one `setsockopt` per read (a read per few frames).
//!
//! The kernel leaves quick-ACK mode again by itself when the connection looks interactive, so
//! the option is set again after every read. On other systems the stream is used as it is.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream that acknowledges received data at once (see the module documentation).
#[derive(Debug)]
pub(crate) struct QuickAck {
    stream: TcpStream,
}

impl QuickAck {
    pub(crate) fn new(stream: TcpStream) -> QuickAck {
        QuickAck { stream }
    }

    /// Sends the ACK the kernel may be holding back, and acknowledges the next segments at once.
    fn acknowledge_now(&self) {
        // A failure (not a TCP socket any more) leaves the connection as it was, hence ignored.
        #[cfg(target_os = "linux")]
        let _ = socket2::SockRef::from(&self.stream).set_tcp_quickack(true);
    }

    #[cfg(test)]
    fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.acknowledge_now();
        }
        polled
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::QuickAck;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// Data passes both ways unchanged (writes vectored as the inner stream does), and after a
    /// read the socket is in quick-ACK mode.
    #[test]
    fn passes_data_through_and_sets_quick_ack_after_a_read() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let (client, accepted) =
                tokio::join!(tokio::net::TcpStream::connect(address), listener.accept());
            let mut client = QuickAck::new(client.unwrap());
            let (mut server, _) = accepted.unwrap();
            // h2 writes a frame header and its payload in one writev when the stream can.
            assert!(tokio::io::AsyncWrite::is_write_vectored(&client));

            client.write_all(b"request").await.unwrap();
            let mut received = [0u8; 7];
            server.read_exact(&mut received).await.unwrap();
            assert_eq!(&received, b"request");

            #[cfg(target_os = "linux")]
            set_quick_ack(client.stream(), false);
            server.write_all(b"answer").await.unwrap();
            let mut answer = [0u8; 6];
            client.read_exact(&mut answer).await.unwrap();
            assert_eq!(&answer, b"answer");
            #[cfg(target_os = "linux")]
            assert!(quick_ack(client.stream()), "set again by the read");
        });
    }

    #[cfg(target_os = "linux")]
    fn set_quick_ack(stream: &tokio::net::TcpStream, on: bool) {
        socket2::SockRef::from(stream).set_tcp_quickack(on).unwrap();
    }

    #[cfg(target_os = "linux")]
    fn quick_ack(stream: &tokio::net::TcpStream) -> bool {
        socket2::SockRef::from(stream).tcp_quickack().unwrap()
    }
}
