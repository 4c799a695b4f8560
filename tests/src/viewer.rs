//! Raw WebSocket viewers on the relay: [`Viewer`] records every frame it
//! decodes, so tests can compare what the relay delivered with an
//! independent oracle; [`StalledViewer`] connects and then never reads, the
//! way a frozen browser tab behaves.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wiremap_wire::{decode, Entry, Frame, Identity, L4Snapshot};

/// An entry as delivered, with its peers resolved and the reporting node.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub node: String,
    /// The reporting probe's epoch (its start time): a restarted probe
    /// sends a new one.
    pub epoch: u64,
    pub entry: Entry,
    pub src: Option<Identity>,
    pub dst: Option<Identity>,
}

#[derive(Debug, Default)]
struct Seen {
    entries: Vec<Delivered>,
    snapshots: Vec<L4Snapshot>,
    other: Vec<Frame>,
    undecodable: u64,
}

/// A viewer connection read by a background thread.
#[derive(Debug, Clone)]
pub struct Viewer {
    seen: Arc<Mutex<Seen>>,
    open: Arc<AtomicBool>,
}

impl Viewer {
    /// Connects to `ws://{addr}/ws` and starts recording.
    pub fn connect(addr: &str) -> Result<Viewer, String> {
        let url = format!("ws://{addr}/ws");
        let (mut ws, _) =
            tungstenite::connect(url.as_str()).map_err(|e| format!("viewer {url}: {e}"))?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let sink = seen.clone();
        let open = Arc::new(AtomicBool::new(true));
        let open_flag = open.clone();
        std::thread::spawn(move || {
            // Marks the connection closed however the loop ends.
            struct Closed(Arc<AtomicBool>);
            impl Drop for Closed {
                fn drop(&mut self) {
                    self.0.store(false, Ordering::SeqCst);
                }
            }
            let _closed = Closed(open_flag);
            while let Ok(msg) = ws.read() {
                let tungstenite::Message::Binary(bytes) = msg else {
                    continue;
                };
                let frame = decode(&bytes);
                let Ok(mut seen) = sink.lock() else {
                    return;
                };
                match frame {
                    Ok(Frame::L7Batch(mut batch)) => {
                        for entry in std::mem::take(&mut batch.entries) {
                            seen.entries.push(Delivered {
                                node: batch.node.clone(),
                                epoch: batch.epoch,
                                src: batch.identity(entry.src.identity).cloned(),
                                dst: batch.identity(entry.dst.identity).cloned(),
                                entry,
                            });
                        }
                    }
                    Ok(Frame::L4Snapshot(s)) => seen.snapshots.push(s),
                    Ok(other) => seen.other.push(other),
                    Err(_) => seen.undecodable += 1,
                }
            }
        });
        Ok(Viewer { seen, open })
    }

    /// true until the connection ends (the relay closed it or went away).
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    fn with<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        f(&seen)
    }

    /// Every entry delivered so far.
    pub fn entries(&self) -> Vec<Delivered> {
        self.with(|s| s.entries.clone())
    }

    /// Every L4 snapshot delivered so far.
    pub fn snapshots(&self) -> Vec<L4Snapshot> {
        self.with(|s| s.snapshots.clone())
    }

    /// Frames other than entries and snapshots (notices, filters, …).
    pub fn other_frames(&self) -> Vec<Frame> {
        self.with(|s| s.other.clone())
    }

    /// Frames that did not decode (must stay 0).
    pub fn undecodable(&self) -> u64 {
        self.with(|s| s.undecodable)
    }

    /// The newest snapshot of `node`, if any.
    pub fn latest_snapshot(&self, node: &str) -> Option<L4Snapshot> {
        self.with(|s| s.snapshots.iter().rev().find(|x| x.node == node).cloned())
    }

    /// Waits until the number of entries stops changing for `quiet`, or
    /// `limit` passes; returns the entries.
    pub fn settle(&self, quiet: Duration, limit: Duration) -> Vec<Delivered> {
        let end = Instant::now() + limit;
        let mut last = self.with(|s| s.entries.len());
        let mut since = Instant::now();
        while Instant::now() < end && since.elapsed() < quiet {
            std::thread::sleep(Duration::from_millis(100));
            let n = self.with(|s| s.entries.len());
            if n != last {
                last = n;
                since = Instant::now();
            }
        }
        self.entries()
    }

    /// Waits until `pred` holds over what was seen, or `limit` passes.
    pub fn wait_until(
        &self,
        limit: Duration,
        what: &str,
        mut pred: impl FnMut(&[Delivered], &[L4Snapshot]) -> bool,
    ) -> Result<(), String> {
        let end = Instant::now() + limit;
        loop {
            if self.with(|s| pred(&s.entries, &s.snapshots)) {
                return Ok(());
            }
            if Instant::now() > end {
                return Err(format!("not seen within {limit:?}: {what}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A viewer that completes the WebSocket handshake and then never reads a
/// byte: once the kernel's buffers of the connection are full, the relay's
/// writes to it back up ([`StalledViewer::backlog`] shows how far).
#[derive(Debug)]
pub struct StalledViewer {
    stream: TcpStream,
}

impl StalledViewer {
    /// Connects to `ws://{addr}/ws` and stops reading right after the
    /// handshake's response headers.
    pub fn connect(addr: &str) -> Result<StalledViewer, String> {
        let sock_addr: SocketAddr = addr
            .parse()
            .map_err(|e| format!("stalled viewer: bad address {addr}: {e}"))?;
        let mut stream = TcpStream::connect_timeout(&sock_addr, Duration::from_secs(5))
            .map_err(|e| format!("stalled viewer connect {addr}: {e}"))?;
        // A hand-written upgrade request: reading the 101 response is the
        // last read this viewer does.
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("stalled viewer handshake: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        // Byte by byte, so nothing after the headers is consumed.
        while !head.ends_with(b"\r\n\r\n") {
            match std::io::Read::read(&mut stream, &mut byte) {
                Ok(1) => head.push(byte[0]),
                Ok(_) => return Err("stalled viewer: relay closed during the handshake".into()),
                Err(e) => return Err(format!("stalled viewer handshake: {e}")),
            }
            if head.len() > 16 * 1024 {
                return Err("stalled viewer: handshake response too long".into());
            }
        }
        let head = String::from_utf8_lossy(&head);
        if !head.starts_with("HTTP/1.1 101") {
            return Err(format!(
                "stalled viewer: upgrade refused: {}",
                head.lines().next().unwrap_or("")
            ));
        }
        Ok(StalledViewer { stream })
    }

    /// The viewer's local port (its side of the connection).
    pub fn local_port(&self) -> Option<u16> {
        self.stream.local_addr().ok().map(|a| a.port())
    }

    /// Bytes the kernel holds for this connection: (unread in this
    /// viewer's receive queue, unsent in the relay's send queue), from
    /// `/proc/net/tcp`. `None` once the connection is gone.
    pub fn backlog(&self) -> Option<(u64, u64)> {
        let me = self.stream.local_addr().ok()?;
        let peer = self.stream.peer_addr().ok()?;
        let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
        let mine = tcp_queues(&table, me, peer)?;
        let relay = tcp_queues(&table, peer, me)?;
        Some((mine.1, relay.0))
    }
}

/// (tx_queue, rx_queue) of the IPv4 socket `local` → `remote` in the text
/// of `/proc/net/tcp` (addresses as `0100007F:1F90`, queues as
/// `00000000:00000000`, all hex).
pub fn tcp_queues(table: &str, local: SocketAddr, remote: SocketAddr) -> Option<(u64, u64)> {
    let hex = |a: SocketAddr| match a {
        SocketAddr::V4(v4) => Some(format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(v4.ip().octets()),
            v4.port()
        )),
        SocketAddr::V6(_) => None,
    };
    let (l, r) = (hex(local)?, hex(remote)?);
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.get(1)? != &l || f.get(2)? != &r {
            return None;
        }
        let (tx, rx) = f.get(4)?.split_once(':')?;
        Some((
            u64::from_str_radix(tx, 16).ok()?,
            u64::from_str_radix(rx, 16).ok()?,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_queues_finds_the_socket_by_both_addresses() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 0100007F:1F90 0100007F:D431 01 0001A000:00000000 00:00000000 00000000     0        0 1\n   \
            1: 0100007F:D431 0100007F:1F90 01 00000000:00000900 00:00000000 00000000     0        0 2\n";
        let relay: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let viewer: SocketAddr = "127.0.0.1:54321".parse().unwrap();
        assert_eq!(tcp_queues(table, relay, viewer), Some((0x1A000, 0)));
        assert_eq!(tcp_queues(table, viewer, relay), Some((0, 0x900)));
        assert_eq!(tcp_queues(table, viewer, viewer), None);
    }
}
