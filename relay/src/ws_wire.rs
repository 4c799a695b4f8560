//! The viewer end of a WebSocket without a per-message channel: the
//! response body pulls the viewer's frames straight from the hub when
//! actix-http has room in its write buffer (already framed for the socket,
//! see [`crate::hub::Hub::viewer_take`]; L7 batches as chunks shared by all
//! viewers), so a delivery costs no task of its own, no channel hand-over
//! and no copy before the write buffer (docs/bench/relay.md). The viewer
//! task only sends its few control frames (ping, pong, close) through a
//! small channel. Incoming frames are decoded from the request payload with
//! actix-http's codec; fragmented messages are reassembled up to a size
//! limit.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use actix_codec::Decoder;
use actix_http::ws::{CloseReason, Codec, Frame, Item, OpCode, Parser, ProtocolError};
use actix_web::body::{BodySize, MessageBody};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Control frames waiting for the socket at most (the body is polled only
/// while actix-http's write buffer has room, so a viewer that does not read
/// stops its pings here).
const CONTROL_IN_FLIGHT: usize = 2;

/// Where the body gets the viewer's frames from.
pub trait Source {
    /// Appends bytes for the socket (complete frames) to `out`. When it
    /// appends nothing, `waker` is woken once there is more. `false` when
    /// nothing more will ever come (the viewer left or was kicked).
    fn pull(&mut self, out: &mut Vec<Bytes>, waker: &Waker) -> bool;
}

/// A viewer's frames in the hub.
#[derive(Debug)]
pub struct HubSource {
    pub state: std::sync::Arc<crate::state::AppState>,
    pub id: crate::hub::ViewerId,
}

impl Source for HubSource {
    fn pull(&mut self, out: &mut Vec<Bytes>, waker: &Waker) -> bool {
        self.state.viewer_pull(self.id, out, waker)
    }
}

#[derive(Debug)]
enum Control {
    Frame(Bytes),
    /// A close frame: the body ends after it.
    Close(Bytes),
}

/// The response body: control frames first, then the source's frames, in
/// order; ends when the writer is dropped or after a close frame.
#[derive(Debug)]
pub struct ViewerBody<S> {
    source: S,
    /// Still pulling from the source.
    open: bool,
    control: mpsc::Receiver<Control>,
    pending: std::vec::IntoIter<Bytes>,
    /// Reused for each pull.
    scratch: Vec<Bytes>,
    closing: bool,
}

impl<S: Source + Unpin> MessageBody for ViewerBody<S> {
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
            if this.closing {
                return Poll::Ready(None);
            }
            match this.control.poll_recv(cx) {
                Poll::Ready(Some(Control::Frame(b))) => return Poll::Ready(Some(Ok(b))),
                Poll::Ready(Some(Control::Close(b))) => {
                    this.closing = true;
                    return Poll::Ready(Some(Ok(b)));
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {}
            }
            if !this.open {
                return Poll::Pending;
            }
            this.open = this.source.pull(&mut this.scratch, cx.waker());
            if this.scratch.is_empty() {
                return Poll::Pending;
            }
            let taken = std::mem::take(&mut this.scratch);
            // the emptied vector comes back as `pending` runs out
            this.pending = taken.into_iter();
        }
    }
}

/// The peer has gone (the body was dropped with the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// Encodes the viewer task's control frames (unmasked) for the body.
#[derive(Debug)]
pub struct FrameWriter {
    tx: mpsc::Sender<Control>,
    buf: BytesMut,
}

/// A writer and the body it feeds, which pulls everything else from `source`.
pub fn channel<S: Source>(source: S) -> (FrameWriter, ViewerBody<S>) {
    let (tx, rx) = mpsc::channel(CONTROL_IN_FLIGHT);
    (
        FrameWriter {
            tx,
            buf: BytesMut::new(),
        },
        ViewerBody {
            source,
            open: true,
            control: rx,
            pending: Vec::new().into_iter(),
            scratch: Vec::new(),
            closing: false,
        },
    )
}

impl FrameWriter {
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Closed> {
        Parser::write_message(&mut self.buf, payload, OpCode::Ping, true, false);
        let b = self.buf.split().freeze();
        self.send(Control::Frame(b)).await
    }

    pub async fn pong(&mut self, payload: &[u8]) -> Result<(), Closed> {
        Parser::write_message(&mut self.buf, payload, OpCode::Pong, true, false);
        let b = self.buf.split().freeze();
        self.send(Control::Frame(b)).await
    }

    /// Sends a close frame; the body ends after it.
    pub async fn close(mut self, reason: Option<CloseReason>) -> Result<(), Closed> {
        Parser::write_close(&mut self.buf, reason, false);
        let b = self.buf.split().freeze();
        self.send(Control::Close(b)).await
    }

    async fn send(&mut self, c: Control) -> Result<(), Closed> {
        self.tx.send(c).await.map_err(|_| Closed)
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

    use crate::chunk::{binary_header, header_len};

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

    /// A source fed by the test: each pull hands over everything queued.
    #[derive(Debug, Default, Clone)]
    struct Fake(std::sync::Arc<std::sync::Mutex<FakeState>>);

    #[derive(Debug, Default)]
    struct FakeState {
        queued: Vec<Bytes>,
        waker: Option<Waker>,
        gone: bool,
        pulls: usize,
    }

    impl Fake {
        fn queue(&self, b: Bytes) {
            let mut s = self.0.lock().unwrap();
            s.queued.push(b);
            if let Some(w) = s.waker.take() {
                w.wake();
            }
        }
    }

    impl Source for Fake {
        fn pull(&mut self, out: &mut Vec<Bytes>, waker: &Waker) -> bool {
            let mut s = self.0.lock().unwrap();
            s.pulls += 1;
            out.append(&mut s.queued);
            if out.is_empty() {
                s.waker = Some(waker.clone());
            }
            !s.gone
        }
    }

    /// Everything the body yields until it would wait, concatenated: the
    /// bytes on the socket; `None` when it has ended with nothing.
    async fn drain(body: &mut ViewerBody<Fake>) -> Option<Vec<u8>> {
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
    async fn the_body_pulls_queued_frames_control_frames_go_first_and_close_ends_it() {
        let fake = Fake::default();
        let (mut w, mut body) = channel(fake.clone());
        // a single frame (header, payload) and a chunk of two frames
        let mut chunk = crate::chunk::ChunkBuilder::new(1 << 20);
        chunk.push(&[1u8; 300], std::time::Instant::now());
        chunk.push(&[2u8; 70_000], std::time::Instant::now());
        fake.queue(Bytes::from_static(&[0x82, 3]));
        fake.queue(Bytes::from_static(b"abc"));
        fake.queue(chunk.seal().unwrap().bytes);
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
        // nothing queued: the body waits, and a queued frame wakes it
        let waiting = tokio::spawn(async move {
            let wire = drain(&mut body).await.unwrap();
            (wire, body)
        });
        tokio::task::yield_now().await;
        fake.queue(Bytes::from_static(&[0x82, 1, 9]));
        let (wire, mut body) = waiting.await.unwrap();
        assert_eq!(wire, vec![0x82, 1, 9]);
        // a ping queued with data goes first
        w.ping(b"hb").await.unwrap();
        fake.queue(Bytes::from_static(&[0x82, 1, 8]));
        let wire = drain(&mut body).await.unwrap();
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(
            client.decode(&mut buf).unwrap(),
            Some(Frame::Ping(Bytes::from_static(b"hb")))
        );
        assert_eq!(
            client.decode(&mut buf).unwrap(),
            Some(Frame::Binary(Bytes::from_static(&[8])))
        );
        // after a close frame nothing more is pulled and the body ends
        fake.queue(Bytes::from_static(&[0x82, 1, 7]));
        w.close(None).await.unwrap();
        let pulls = fake.0.lock().unwrap().pulls;
        let wire = drain(&mut body).await.unwrap();
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(client.decode(&mut buf).unwrap(), Some(Frame::Close(None)));
        assert!(buf.is_empty());
        assert_eq!(drain(&mut body).await, None, "the body ends after close");
        assert_eq!(fake.0.lock().unwrap().pulls, pulls);
    }

    #[tokio::test]
    async fn a_gone_source_stops_pulls_and_a_dropped_writer_ends_the_body() {
        let fake = Fake::default();
        let (w, mut body) = channel(fake.clone());
        fake.0.lock().unwrap().gone = true;
        fake.queue(Bytes::from_static(&[0x82, 1, 1]));
        assert_eq!(drain(&mut body).await, Some(vec![0x82, 1, 1]));
        let pulls = fake.0.lock().unwrap().pulls;
        fake.queue(Bytes::from_static(&[0x82, 1, 2]));
        let mut b = Pin::new(&mut body);
        let polled = std::future::poll_fn(|cx| Poll::Ready(b.as_mut().poll_next(cx))).await;
        assert!(polled.is_pending(), "waits for the viewer task's close");
        assert_eq!(fake.0.lock().unwrap().pulls, pulls, "no pull after the end");
        drop(w);
        assert_eq!(drain(&mut body).await, None);
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
