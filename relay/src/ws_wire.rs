//! The viewer end of a WebSocket without a per-message channel: the viewer
//! task encodes everything it takes from the hub into one buffer of
//! complete frames and hands that buffer to the response body in one piece,
//! so a take of many frames costs one channel hand-over, one allocation of
//! the right size and one socket write, not one of each per frame
//! (docs/bench/relay.md). Incoming frames are decoded from the request
//! payload with actix-http's codec; fragmented messages are reassembled up
//! to a size limit.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_codec::Decoder;
use actix_http::ws::{CloseReason, Codec, Frame, Item, OpCode, Parser, ProtocolError};
use actix_web::body::{BodySize, MessageBody};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::Stream;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Takes waiting for the socket at most: the body is polled only while
/// actix-http's write buffer has room, so a viewer that does not read
/// stops the writer here and its hub queue fills (and is accounted) instead.
const CHUNKS_IN_FLIGHT: usize = 2;

/// The response body: buffers of encoded frames, in order; ends when the
/// writer is dropped or after a close frame.
#[derive(Debug)]
pub struct ViewerBody {
    rx: mpsc::Receiver<Vec<Bytes>>,
    pending: std::vec::IntoIter<Bytes>,
}

impl MessageBody for ViewerBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(b) = this.pending.next() {
                return Poll::Ready(Some(Ok(b)));
            }
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(parts)) => this.pending = parts.into_iter(),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The peer has gone (the body was dropped with the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// Encodes server frames (unmasked) and hands them to the body.
#[derive(Debug)]
pub struct FrameWriter {
    tx: mpsc::Sender<Vec<Bytes>>,
    buf: BytesMut,
}

/// A writer and the body it feeds.
pub fn channel() -> (FrameWriter, ViewerBody) {
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    (
        FrameWriter {
            tx,
            buf: BytesMut::new(),
        },
        ViewerBody {
            rx,
            pending: Vec::new().into_iter(),
        },
    )
}

/// Appends the header of an unfragmented, unmasked binary frame carrying
/// `len` bytes (RFC 6455 section 5.2).
fn binary_header(dst: &mut BytesMut, len: usize) {
    const FIN_BINARY: u8 = 0x80 | 0x2;
    if len < 126 {
        dst.put_slice(&[FIN_BINARY, len as u8]);
    } else if let Ok(len) = u16::try_from(len) {
        dst.put_slice(&[FIN_BINARY, 126]);
        dst.put_u16(len);
    } else {
        dst.put_slice(&[FIN_BINARY, 127]);
        dst.put_u64(len as u64);
    }
}

impl FrameWriter {
    /// Sends every frame in `frames` (emptying it) as a binary message, in
    /// one hand-over. Payloads are not copied here: the body yields each
    /// header and each shared payload in turn.
    pub async fn binary_all(&mut self, frames: &mut Vec<Bytes>) -> Result<(), Closed> {
        let mut heads = BytesMut::with_capacity(frames.len() * 4);
        for f in frames.iter() {
            binary_header(&mut heads, f.len());
        }
        let mut heads = heads.freeze();
        let mut parts = Vec::with_capacity(frames.len() * 2);
        for f in frames.drain(..) {
            parts.push(heads.split_to(header_len(f.len())));
            parts.push(f);
        }
        self.send(parts).await
    }

    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Closed> {
        Parser::write_message(&mut self.buf, payload, OpCode::Ping, true, false);
        self.flush().await
    }

    pub async fn pong(&mut self, payload: &[u8]) -> Result<(), Closed> {
        Parser::write_message(&mut self.buf, payload, OpCode::Pong, true, false);
        self.flush().await
    }

    /// Sends a close frame; the body ends after it.
    pub async fn close(mut self, reason: Option<CloseReason>) -> Result<(), Closed> {
        Parser::write_close(&mut self.buf, reason, false);
        self.flush().await
        // dropping `self` ends the body once the frame is written
    }

    async fn flush(&mut self) -> Result<(), Closed> {
        let chunk = self.buf.split().freeze();
        self.send(vec![chunk]).await
    }

    async fn send(&mut self, parts: Vec<Bytes>) -> Result<(), Closed> {
        if parts.is_empty() {
            return Ok(());
        }
        self.tx.send(parts).await.map_err(|_| Closed)
    }
}

/// Bytes of a server frame header for a payload of `len` bytes.
fn header_len(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=65_535 => 4,
        _ => 10,
    }
}

/// One message from the viewer.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    Binary(Bytes),
    Text,
    Ping(Bytes),
    Pong,
    Close,
}

/// Decodes the viewer's frames from the request payload (any byte stream).
pub struct FrameReader<S> {
    payload: S,
    buf: BytesMut,
    codec: Codec,
    max: usize,
    /// A fragmented message being reassembled: (is text, bytes so far).
    partial: Option<(bool, BytesMut)>,
    eof: bool,
}

impl<S> std::fmt::Debug for FrameReader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameReader")
            .field("buffered", &self.buf.len())
            .field("max", &self.max)
            .field("eof", &self.eof)
            .finish()
    }
}

impl<S, E> FrameReader<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    /// Frames and reassembled messages larger than `max` bytes are an
    /// [`ProtocolError::Overflow`].
    pub fn new(payload: S, max: usize) -> Self {
        FrameReader {
            payload,
            buf: BytesMut::new(),
            codec: Codec::new().max_size(max),
            max,
            partial: None,
            eof: false,
        }
    }

    /// The next message; `None` when the peer has closed the stream.
    /// Cancel-safe: bytes are only consumed once a whole frame is decoded.
    pub async fn recv(&mut self) -> Option<Result<Inbound, ProtocolError>> {
        loop {
            match self.codec.decode(&mut self.buf) {
                Ok(Some(frame)) => match self.message(frame) {
                    Ok(Some(m)) => return Some(Ok(m)),
                    Ok(None) => continue,
                    Err(e) => return Some(Err(e)),
                },
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
            if self.eof {
                return None;
            }
            match self.payload.next().await {
                Some(Ok(bytes)) => self.buf.extend_from_slice(&bytes),
                Some(Err(e)) => {
                    self.eof = true;
                    return Some(Err(ProtocolError::Io(std::io::Error::other(e.to_string()))));
                }
                None => self.eof = true,
            }
        }
    }

    fn message(&mut self, frame: Frame) -> Result<Option<Inbound>, ProtocolError> {
        Ok(Some(match frame {
            Frame::Binary(b) => Inbound::Binary(b),
            Frame::Text(_) => Inbound::Text,
            Frame::Ping(p) => Inbound::Ping(p),
            Frame::Pong(_) => Inbound::Pong,
            Frame::Close(_) => Inbound::Close,
            Frame::Continuation(item) => return self.continuation(item),
        }))
    }

    fn continuation(&mut self, item: Item) -> Result<Option<Inbound>, ProtocolError> {
        let (first, text, last, part) = match item {
            Item::FirstText(b) => (true, true, false, b),
            Item::FirstBinary(b) => (true, false, false, b),
            Item::Continue(b) => (false, false, false, b),
            Item::Last(b) => (false, false, true, b),
        };
        if first {
            if self.partial.is_some() {
                return Err(ProtocolError::ContinuationStarted);
            }
            self.partial = Some((text, BytesMut::new()));
        }
        let Some((is_text, acc)) = self.partial.as_mut() else {
            return Err(ProtocolError::ContinuationNotStarted);
        };
        if acc.len() + part.len() > self.max {
            self.partial = None;
            return Err(ProtocolError::Overflow);
        }
        acc.extend_from_slice(&part);
        if !last {
            return Ok(None);
        }
        let is_text = *is_text;
        let (_, acc) = self.partial.take().unwrap_or_default();
        Ok(Some(if is_text {
            Inbound::Text
        } else {
            Inbound::Binary(acc.freeze())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_the_codec_at_every_length_class() {
        for len in [0usize, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
            let mut ours = BytesMut::new();
            binary_header(&mut ours, len);
            assert_eq!(ours.len(), header_len(len), "payload of {len} bytes");
            let mut theirs = BytesMut::new();
            Parser::write_message(&mut theirs, vec![7u8; len], OpCode::Binary, true, false);
            assert_eq!(&theirs[..ours.len()], &ours[..], "payload of {len} bytes");
        }
    }

    /// Everything the body yields, concatenated: the bytes on the socket.
    async fn drain(body: &mut ViewerBody) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut body = Pin::new(body);
        let mut ended = false;
        std::future::poll_fn(|cx| loop {
            match body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(b))) => out.extend_from_slice(&b),
                Poll::Ready(None) => {
                    ended = true;
                    return Poll::Ready(());
                }
                Poll::Pending if out.is_empty() => return Poll::Pending,
                Poll::Pending => return Poll::Ready(()),
            }
        })
        .await;
        (!ended || !out.is_empty()).then_some(out)
    }

    #[tokio::test]
    async fn a_take_is_one_hand_over_of_complete_frames_and_close_ends_the_body() {
        let (mut w, mut body) = channel();
        let mut frames = vec![
            Bytes::from_static(b"abc"),
            Bytes::from(vec![1u8; 300]),
            Bytes::from(vec![2u8; 70_000]),
        ];
        w.binary_all(&mut frames).await.unwrap();
        assert!(frames.is_empty());
        let wire = drain(&mut body).await.unwrap();
        assert_eq!(wire.len(), 2 + 3 + 4 + 300 + 10 + 70_000);
        let mut client = Codec::new().client_mode().max_size(1 << 20);
        let mut buf = BytesMut::from(&wire[..]);
        for want in [vec![b'a', b'b', b'c'], vec![1u8; 300], vec![2u8; 70_000]] {
            assert_eq!(
                client.decode(&mut buf).unwrap(),
                Some(Frame::Binary(Bytes::from(want)))
            );
        }
        assert!(buf.is_empty());
        w.ping(b"hb").await.unwrap();
        let wire = drain(&mut body).await.unwrap();
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(
            client.decode(&mut buf).unwrap(),
            Some(Frame::Ping(Bytes::from_static(b"hb")))
        );
        w.close(None).await.unwrap();
        let wire = drain(&mut body).await.unwrap();
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(client.decode(&mut buf).unwrap(), Some(Frame::Close(None)));
        assert_eq!(drain(&mut body).await, None, "the body ends after close");
    }

    fn client_frame(op: OpCode, fin: bool, payload: &[u8]) -> Bytes {
        let mut b = BytesMut::new();
        Parser::write_message(&mut b, payload, op, fin, true);
        b.freeze()
    }

    fn reader(
        chunks: Vec<Bytes>,
        max: usize,
    ) -> FrameReader<impl Stream<Item = Result<Bytes, String>> + Unpin> {
        FrameReader::new(futures_util::stream::iter(chunks.into_iter().map(Ok)), max)
    }

    #[tokio::test]
    async fn frames_split_across_reads_and_fragments_are_reassembled() {
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&client_frame(OpCode::Binary, true, b"one"));
        wire.extend_from_slice(&client_frame(OpCode::Ping, true, b"p"));
        wire.extend_from_slice(&client_frame(OpCode::Binary, false, b"tw"));
        wire.extend_from_slice(&client_frame(OpCode::Continue, false, b"o-"));
        wire.extend_from_slice(&client_frame(OpCode::Continue, true, b"parts"));
        wire.extend_from_slice(&client_frame(OpCode::Text, true, b"hi"));
        wire.extend_from_slice(&client_frame(OpCode::Close, true, b""));
        // one byte per read: every frame boundary falls mid-read
        let chunks = wire.iter().map(|b| Bytes::copy_from_slice(&[*b])).collect();
        let mut r = reader(chunks, 1024);
        let mut got = Vec::new();
        while let Some(m) = r.recv().await {
            got.push(m.unwrap());
        }
        assert_eq!(
            got,
            vec![
                Inbound::Binary(Bytes::from_static(b"one")),
                Inbound::Ping(Bytes::from_static(b"p")),
                Inbound::Binary(Bytes::from_static(b"two-parts")),
                Inbound::Text,
                Inbound::Close,
            ]
        );
    }

    #[tokio::test]
    async fn oversize_unmasked_and_unstarted_fragments_are_errors() {
        let big = client_frame(OpCode::Binary, true, &[0u8; 200]);
        let mut r = reader(vec![big], 100);
        assert!(matches!(r.recv().await, Some(Err(ProtocolError::Overflow))));

        let parts = [
            client_frame(OpCode::Binary, false, &[0u8; 60]),
            client_frame(OpCode::Continue, true, &[0u8; 60]),
        ]
        .concat();
        let mut r = reader(vec![Bytes::from(parts)], 100);
        assert!(matches!(r.recv().await, Some(Err(ProtocolError::Overflow))));

        let mut r = reader(vec![client_frame(OpCode::Continue, true, b"x")], 100);
        assert!(matches!(
            r.recv().await,
            Some(Err(ProtocolError::ContinuationNotStarted))
        ));

        let mut unmasked = BytesMut::new();
        Parser::write_message(&mut unmasked, b"x", OpCode::Binary, true, false);
        let mut r = reader(vec![unmasked.freeze()], 100);
        assert!(matches!(
            r.recv().await,
            Some(Err(ProtocolError::UnmaskedFrame))
        ));

        let mut r = reader(vec![], 100);
        assert!(r.recv().await.is_none(), "an ended stream is the end");
    }
}
