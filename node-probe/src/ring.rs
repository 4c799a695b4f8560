//! A PACKET_MMAP receive ring (TPACKET_V3) on one interface: the kernel
//! writes packets into large blocks of memory shared with the probe and
//! hands a block over when it is full or after a short timeout, so one
//! `poll` wakes the capture thread for thousands of packets and nothing is
//! copied through a system call. Kernel drops (ring full) are read with
//! `PACKET_STATISTICS`.
//!
//! Why `unsafe` lives here: the Linux packet socket API (`socket`,
//! `setsockopt`, `getsockopt`, `bind`, `poll`, `mmap`) is only reachable
//! through `libc`, and the ring is memory the kernel writes concurrently,
//! read through raw pointers and handed back with an atomic store. This is
//! the one module of the crate allowed to use `unsafe`; every block says
//! why it is sound, and what leaves the module is a safe API: [`Ring::open`], [`Ring::next_block`] (a [`Block`] borrows
//! the ring and gives its memory back to the kernel when dropped),
//! [`Ring::stats`]. Packet headers inside a block are parsed from a byte
//! slice with bounds checks, not by casting pointers, so a bad offset ends a
//! block instead of reading out of bounds.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Default ring size per interface, MiB.
pub const DEFAULT_RING_MB: u32 = 64;
/// Largest ring accepted per interface, MiB; more is a configuration error.
pub const MAX_RING_MB: u32 = 4096;
/// Largest block: the kernel hands over at most this much at once. Blocks
/// are also handed over after the block timeout however full they are, so
/// a ring absorbs a consumer stall of about `blocks × timeout` at low
/// rates: many 1 MiB blocks buffer longer than a few large ones.
pub const MAX_BLOCK_BYTES: usize = 1 << 20;
/// Smallest block: it must hold a 64 KiB frame (GRO, `lo`) and headers.
const MIN_BLOCK_BYTES: usize = 128 << 10;
/// Blocks in a ring at least (the kernel fills one while we read others).
const MIN_BLOCKS: usize = 4;
/// The nominal frame size TPACKET_V3 wants for validation (packets in a
/// block are variable-length, this does not limit them).
const FRAME_BYTES: usize = 2048;
/// Default time after which the kernel hands over a partly filled block.
pub const DEFAULT_BLOCK_TIMEOUT_MS: u32 = 20;

// Layout of the kernel structures, checked against `libc`'s definitions of
// `linux/if_packet.h` at compile time.
const TPACKET_ALIGNMENT: usize = 16;
const fn tpacket_align(x: usize) -> usize {
    (x + TPACKET_ALIGNMENT - 1) & !(TPACKET_ALIGNMENT - 1)
}
/// `tpacket_block_desc.hdr.bh1` starts after `version` and `offset_to_priv`.
const BH1: usize = 8;
const BLOCK_STATUS: usize = BH1 + offset_of!(libc::tpacket_hdr_v1, block_status);
const BLOCK_NUM_PKTS: usize = BH1 + offset_of!(libc::tpacket_hdr_v1, num_pkts);
const BLOCK_FIRST_PKT: usize = BH1 + offset_of!(libc::tpacket_hdr_v1, offset_to_first_pkt);
const BLOCK_HEADER: usize = size_of::<libc::tpacket_block_desc>();
const PKT_NEXT: usize = offset_of!(libc::tpacket3_hdr, tp_next_offset);
const PKT_SEC: usize = offset_of!(libc::tpacket3_hdr, tp_sec);
const PKT_NSEC: usize = offset_of!(libc::tpacket3_hdr, tp_nsec);
const PKT_SNAPLEN: usize = offset_of!(libc::tpacket3_hdr, tp_snaplen);
const PKT_LEN: usize = offset_of!(libc::tpacket3_hdr, tp_len);
const PKT_MAC: usize = offset_of!(libc::tpacket3_hdr, tp_mac);
/// The `sockaddr_ll` that follows each packet header.
const PKT_SLL: usize = tpacket_align(size_of::<libc::tpacket3_hdr>());
const SLL_HATYPE: usize = PKT_SLL + offset_of!(libc::sockaddr_ll, sll_hatype);
const SLL_PKTTYPE: usize = PKT_SLL + offset_of!(libc::sockaddr_ll, sll_pkttype);
const PKT_HEADERS: usize = PKT_SLL + size_of::<libc::sockaddr_ll>();

const _: () = {
    assert!(size_of::<libc::tpacket3_hdr>() == 48);
    assert!(BLOCK_STATUS == 8 && BLOCK_NUM_PKTS == 12 && BLOCK_FIRST_PKT == 16);
    assert!(BLOCK_HEADER == 48);
    assert!(PKT_MAC == 24 && PKT_SLL == 48 && SLL_HATYPE == 56 && SLL_PKTTYPE == 58);
    assert!(FRAME_BYTES & (TPACKET_ALIGNMENT - 1) == 0 && FRAME_BYTES >= PKT_HEADERS);
};

/// `sll_pkttype` of a packet this host sent.
pub const PACKET_OUTGOING: u8 = libc::PACKET_OUTGOING;
/// `sll_hatype` of the loopback device.
pub const ARPHRD_LOOPBACK: u16 = libc::ARPHRD_LOOPBACK;

/// How big a ring is and how long a partly filled block waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingConfig {
    /// Total ring memory per interface, MiB (`--ring-mb`).
    pub ring_mb: u32,
    /// The kernel hands over a partly filled block after this many ms.
    pub block_timeout_ms: u32,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            ring_mb: DEFAULT_RING_MB,
            block_timeout_ms: DEFAULT_BLOCK_TIMEOUT_MS,
        }
    }
}

/// Block size and count a config asks the kernel for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingLayout {
    pub block_bytes: usize,
    pub blocks: usize,
}

impl RingLayout {
    pub fn total_bytes(&self) -> usize {
        self.block_bytes * self.blocks
    }
}

impl RingConfig {
    /// Blocks of a power-of-two size, at most [`MAX_BLOCK_BYTES`], at least
    /// [`MIN_BLOCKS`] of them; refuses sizes that make no sense.
    pub fn layout(&self) -> Result<RingLayout, RingError> {
        if self.ring_mb == 0 {
            return Err(RingError::Config(
                "--ring-mb must be at least 1 (MiB of ring per interface)".into(),
            ));
        }
        if self.ring_mb > MAX_RING_MB {
            return Err(RingError::Config(format!(
                "--ring-mb {} is too large: at most {MAX_RING_MB} MiB per interface",
                self.ring_mb
            )));
        }
        if !(1..=1000).contains(&self.block_timeout_ms) {
            return Err(RingError::Config(format!(
                "ring block timeout {} ms must be in 1..=1000",
                self.block_timeout_ms
            )));
        }
        let total = (self.ring_mb as usize) << 20;
        let mut block = MAX_BLOCK_BYTES;
        while block > MIN_BLOCK_BYTES && block * MIN_BLOCKS > total {
            block /= 2;
        }
        Ok(RingLayout {
            block_bytes: block,
            blocks: total / block,
        })
    }
}

/// Why a ring could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum RingError {
    #[error("{0}")]
    Config(String),
    #[error("no interface named {0:?}")]
    NoInterface(String),
    #[error("capturing needs root or the CAP_NET_RAW capability ({0})")]
    NotPermitted(io::Error),
    #[error("a receive ring of {mb} MiB does not fit in this machine's memory ({source}): lower --ring-mb")]
    TooLarge { mb: u32, source: io::Error },
    #[error("{op}: {source}")]
    Os { op: &'static str, source: io::Error },
}

/// Cumulative socket statistics since the ring was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Packets the socket saw, dropped ones included.
    pub packets: u64,
    /// Packets the kernel dropped because the ring was full.
    pub drops: u64,
    /// Times the kernel found no free block and froze the queue.
    pub freezes: u64,
}

/// An open TPACKET_V3 ring bound to one interface.
#[derive(Debug)]
pub struct Ring {
    fd: OwnedFd,
    map: *mut u8,
    layout: RingLayout,
    /// The block the kernel hands over next.
    next: usize,
    totals: RingStats,
    ifname: CString,
    ifindex: u32,
}

// SAFETY: the mapping is owned by this value alone (no other handle to it
// exists outside this module; blocks borrow the ring mutably), so moving
// the ring to another thread moves the only accessor with it.
unsafe impl Send for Ring {}

impl Ring {
    /// Opens a socket, sets up and maps the ring, then binds to `ifname`
    /// (binding last, so no packet of another interface slips in).
    pub fn open(ifname: &str, cfg: &RingConfig) -> Result<Ring, RingError> {
        let layout = cfg.layout()?;
        let name = CString::new(ifname).map_err(|_| RingError::NoInterface(ifname.into()))?;
        // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(RingError::NoInterface(ifname.into()));
        }
        // Protocol 0: the socket receives nothing until it is bound.
        // SAFETY: plain system call with integer arguments.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EPERM | libc::EACCES) => RingError::NotPermitted(e),
                _ => RingError::Os {
                    op: "socket(AF_PACKET)",
                    source: e,
                },
            });
        }
        // SAFETY: `raw` is a descriptor we just opened and own alone.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        setsockopt(&fd, libc::PACKET_VERSION, &version).map_err(|source| RingError::Os {
            op: "setsockopt(PACKET_VERSION, TPACKET_V3)",
            source,
        })?;
        let req = libc::tpacket_req3 {
            tp_block_size: layout.block_bytes as u32,
            tp_block_nr: layout.blocks as u32,
            tp_frame_size: FRAME_BYTES as u32,
            tp_frame_nr: (layout.total_bytes() / FRAME_BYTES) as u32,
            tp_retire_blk_tov: cfg.block_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        let too_large = |source: io::Error| match source.raw_os_error() {
            Some(libc::ENOMEM | libc::EINVAL | libc::ENOBUFS) => RingError::TooLarge {
                mb: cfg.ring_mb,
                source,
            },
            _ => RingError::Os {
                op: "setting up the receive ring",
                source,
            },
        };
        setsockopt(&fd, libc::PACKET_RX_RING, &req).map_err(too_large)?;
        // SAFETY: maps `total_bytes` of the ring the kernel just allocated
        // for this socket; the result is checked against MAP_FAILED.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                layout.total_bytes(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(too_large(io::Error::last_os_error()));
        }
        let ring = Ring {
            fd,
            map: map.cast::<u8>(),
            layout,
            next: 0,
            totals: RingStats::default(),
            ifname: name,
            ifindex,
        };
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll and the length passed is its size.
        let r = unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ENODEV | libc::ENXIO) => RingError::NoInterface(ifname.into()),
                _ => RingError::Os {
                    op: "bind(AF_PACKET)",
                    source: e,
                },
            });
        }
        Ok(ring)
    }

    pub fn layout(&self) -> RingLayout {
        self.layout
    }

    /// Whether the interface the ring is bound to still exists (a pod's
    /// veth goes away with the pod).
    pub fn interface_exists(&self) -> bool {
        // SAFETY: `ifname` is a valid NUL-terminated string owned by self.
        unsafe { libc::if_nametoindex(self.ifname.as_ptr()) == self.ifindex }
    }

    /// The status word of block `i`, shared with the kernel.
    fn status(&self, i: usize) -> &AtomicU32 {
        debug_assert!(i < self.layout.blocks);
        // SAFETY: block `i` lies inside the mapping (i < blocks), every block
        // starts page-aligned so the status word at offset 8 is 4-byte
        // aligned, and the kernel accesses it only as a 32-bit word; the
        // mapping lives as long as `self`.
        unsafe {
            AtomicU32::from_ptr(
                self.map
                    .add(i * self.layout.block_bytes + BLOCK_STATUS)
                    .cast(),
            )
        }
    }

    fn ready(&self) -> bool {
        self.status(self.next).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    /// The next block the kernel has handed over, waiting at most `timeout`
    /// (`Ok(None)` when none came). The block goes back to the kernel when
    /// the returned value is dropped.
    pub fn next_block(&mut self, timeout: Duration) -> io::Result<Option<Block<'_>>> {
        if !self.ready() {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: one valid pollfd, count 1.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                return if e.kind() == io::ErrorKind::Interrupted {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
            if pfd.revents & libc::POLLERR != 0 {
                // A pending socket error (e.g. the interface went down):
                // reading it clears it, so poll does not spin.
                let err: libc::c_int = getsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_ERROR)?;
                if err != 0 {
                    return Err(io::Error::from_raw_os_error(err));
                }
            }
            if !self.ready() {
                return Ok(None);
            }
        }
        let index = self.next;
        // SAFETY: block `index` is inside the mapping; its status says the
        // kernel handed it over (acquire load above), so the kernel does not
        // write to it until `Block::drop` gives it back.
        let base = unsafe { self.map.add(index * self.layout.block_bytes) };
        Ok(Some(Block {
            ring: self,
            base,
            index,
        }))
    }

    /// Cumulative packets seen and dropped by the kernel since the ring was
    /// opened. The kernel resets its counters on every read; this adds them up.
    pub fn stats(&mut self) -> io::Result<RingStats> {
        let st: libc::tpacket_stats_v3 =
            getsockopt(&self.fd, libc::SOL_PACKET, libc::PACKET_STATISTICS)?;
        self.totals.packets += u64::from(st.tp_packets);
        self.totals.drops += u64::from(st.tp_drops);
        self.totals.freezes += u64::from(st.tp_freeze_q_cnt);
        Ok(self.totals)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `map` is the mapping made in `open` with this length, and
        // no block borrows the ring any more (drop has `&mut self`). The
        // socket closes when `fd` drops, after this.
        unsafe {
            libc::munmap(self.map.cast(), self.layout.total_bytes());
        }
    }
}

fn setsockopt<T>(fd: &OwnedFd, opt: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live T and the length passed is its size.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            opt,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Socket option values read with [`getsockopt`]: C integers and structs
/// of integers, for which any bytes the kernel writes are a valid value.
trait OptValue: Copy {
    fn zero() -> Self;
}

impl OptValue for libc::c_int {
    fn zero() -> Self {
        0
    }
}

impl OptValue for libc::tpacket_stats_v3 {
    fn zero() -> Self {
        libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        }
    }
}

fn getsockopt<T: OptValue>(fd: &OwnedFd, level: libc::c_int, opt: libc::c_int) -> io::Result<T> {
    let mut v = T::zero();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `v` is writable for `len` bytes, `len` is a valid pointer,
    // and whatever bytes the kernel writes form a valid T (see OptValue).
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (&mut v as *mut T).cast(),
            &mut len,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(v)
    }
}

/// A block of packets handed over by the kernel; given back on drop.
#[derive(Debug)]
pub struct Block<'r> {
    ring: &'r mut Ring,
    base: *mut u8,
    index: usize,
}

impl Block<'_> {
    /// The block's bytes.
    fn bytes(&self) -> &[u8] {
        // SAFETY: `base` starts a block of `block_bytes` inside the mapping
        // that the kernel handed over and does not write to until this
        // block is dropped; the slice cannot outlive `&self`, and `drop`
        // (which writes the status word) needs `&mut self`.
        unsafe { std::slice::from_raw_parts(self.base, self.ring.layout.block_bytes) }
    }

    /// Packets in the block, as the kernel says.
    pub fn len(&self) -> usize {
        u32_at(self.bytes(), BLOCK_NUM_PKTS).unwrap_or(0) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The block's packets in order.
    pub fn packets(&self) -> Packets<'_> {
        Packets::of_block(self.bytes())
    }
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        // Release: every read of the block's packets happens before the
        // kernel sees the block as its own again.
        self.ring
            .status(self.index)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.ring.next = (self.index + 1) % self.ring.layout.blocks;
    }
}

/// One packet of a block.
#[derive(Debug, Clone, Copy)]
pub struct RingPacket<'b> {
    /// The frame from its link-layer header on (`tp_snaplen` bytes).
    pub data: &'b [u8],
    /// Kernel receive time, µs since the Unix epoch.
    pub ts_us: i64,
    /// Length on the wire (more than `data` when truncated).
    pub wire_len: u32,
    /// `sll_pkttype`: host, broadcast, outgoing (…).
    pub pkt_type: u8,
    /// `sll_hatype`: the device's ARPHRD type.
    pub hatype: u16,
}

impl RingPacket<'_> {
    /// The copy of a packet this host sent, as `lo` shows it before the
    /// received copy.
    pub fn is_loopback_outgoing(&self) -> bool {
        self.hatype == ARPHRD_LOOPBACK && self.pkt_type == PACKET_OUTGOING
    }
}

/// Iterator over a block's packets; stops early at an offset outside the
/// block.
#[derive(Debug)]
pub struct Packets<'b> {
    bytes: &'b [u8],
    offset: usize,
    left: u32,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

impl<'b> Packets<'b> {
    /// The packets of a retired block given as bytes (the block descriptor
    /// first). Every offset and length is checked against the slice: bytes
    /// that are not a well-formed block yield fewer packets, never a panic
    /// or an endless walk.
    pub fn of_block(bytes: &'b [u8]) -> Self {
        Packets {
            bytes,
            offset: u32_at(bytes, BLOCK_FIRST_PKT).unwrap_or(0) as usize,
            left: u32_at(bytes, BLOCK_NUM_PKTS).unwrap_or(0),
        }
    }

    fn parse(&self) -> Option<(RingPacket<'b>, u32)> {
        let h = self.bytes.get(self.offset..)?;
        if h.len() < PKT_HEADERS {
            return None;
        }
        let next = u32_at(h, PKT_NEXT)?;
        let sec = u32_at(h, PKT_SEC)?;
        let nsec = u32_at(h, PKT_NSEC)?;
        let snaplen = u32_at(h, PKT_SNAPLEN)? as usize;
        let wire_len = u32_at(h, PKT_LEN)?;
        let mac = u16_at(h, PKT_MAC)? as usize;
        let hatype = u16_at(h, SLL_HATYPE)?;
        let pkt_type = *h.get(SLL_PKTTYPE)?;
        let data = h.get(mac..mac.checked_add(snaplen)?)?;
        Some((
            RingPacket {
                data,
                ts_us: i64::from(sec) * 1_000_000 + i64::from(nsec) / 1000,
                wire_len,
                pkt_type,
                hatype,
            },
            next,
        ))
    }
}

impl<'b> Iterator for Packets<'b> {
    type Item = RingPacket<'b>;

    fn next(&mut self) -> Option<RingPacket<'b>> {
        if self.left == 0 {
            return None;
        }
        let Some((p, next)) = self.parse() else {
            self.left = 0;
            return None;
        };
        self.left -= 1;
        // A next offset shorter than a packet's headers is not a chain the
        // kernel writes: stop rather than crawl through the block.
        if (next as usize) < PKT_HEADERS {
            self.left = 0;
        } else {
            self.offset += next as usize;
        }
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(mb: u32) -> RingConfig {
        RingConfig {
            ring_mb: mb,
            ..RingConfig::default()
        }
    }

    #[test]
    fn layouts() {
        assert_eq!(
            cfg(64).layout().unwrap(),
            RingLayout {
                block_bytes: 1 << 20,
                blocks: 64
            }
        );
        assert_eq!(
            cfg(1).layout().unwrap(),
            RingLayout {
                block_bytes: 256 << 10,
                blocks: 4
            }
        );
        let l = cfg(3).layout().unwrap();
        assert!(l.block_bytes.is_power_of_two() && l.blocks >= MIN_BLOCKS);
        assert!(l.total_bytes() <= 3 << 20);
        assert!(cfg(0).layout().is_err());
        assert!(cfg(MAX_RING_MB + 1).layout().is_err());
        assert!(RingConfig {
            ring_mb: 8,
            block_timeout_ms: 0
        }
        .layout()
        .is_err());
    }

    /// A block built by hand: headers at the offsets the kernel uses.
    fn block(packets: &[(&[u8], u8)]) -> Vec<u8> {
        let mut b = vec![0u8; 4096];
        let first = 48u32;
        b[BLOCK_NUM_PKTS..BLOCK_NUM_PKTS + 4]
            .copy_from_slice(&(packets.len() as u32).to_ne_bytes());
        b[BLOCK_FIRST_PKT..BLOCK_FIRST_PKT + 4].copy_from_slice(&first.to_ne_bytes());
        let mut off = first as usize;
        for (i, (data, kind)) in packets.iter().enumerate() {
            let mac = tpacket_align(PKT_HEADERS) + 2;
            let size = tpacket_align(mac + data.len());
            let next = if i + 1 == packets.len() {
                0
            } else {
                size as u32
            };
            let h = &mut b[off..];
            h[PKT_NEXT..PKT_NEXT + 4].copy_from_slice(&next.to_ne_bytes());
            h[PKT_SEC..PKT_SEC + 4].copy_from_slice(&7u32.to_ne_bytes());
            h[PKT_NSEC..PKT_NSEC + 4].copy_from_slice(&(i as u32 * 1000).to_ne_bytes());
            h[PKT_SNAPLEN..PKT_SNAPLEN + 4].copy_from_slice(&(data.len() as u32).to_ne_bytes());
            h[PKT_LEN..PKT_LEN + 4].copy_from_slice(&(data.len() as u32).to_ne_bytes());
            h[PKT_MAC..PKT_MAC + 2].copy_from_slice(&(mac as u16).to_ne_bytes());
            h[SLL_HATYPE..SLL_HATYPE + 2].copy_from_slice(&ARPHRD_LOOPBACK.to_ne_bytes());
            h[SLL_PKTTYPE] = *kind;
            h[mac..mac + data.len()].copy_from_slice(data);
            off += size;
        }
        b
    }

    #[test]
    fn walks_a_block() {
        let b = block(&[(b"one", 0), (b"second", PACKET_OUTGOING), (b"3", 0)]);
        let p = Packets {
            bytes: &b,
            offset: 48,
            left: 3,
        };
        let got: Vec<_> = p
            .map(|p| (p.data.to_vec(), p.ts_us, p.is_loopback_outgoing()))
            .collect();
        assert_eq!(
            got,
            vec![
                (b"one".to_vec(), 7_000_000, false),
                (b"second".to_vec(), 7_000_001, true),
                (b"3".to_vec(), 7_000_002, false),
            ]
        );
    }

    #[test]
    fn a_bad_offset_ends_the_block() {
        let mut b = block(&[(b"one", 0), (b"two", 0)]);
        // First packet's snaplen far past the block.
        b[48 + PKT_SNAPLEN..48 + PKT_SNAPLEN + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        let p = Packets {
            bytes: &b,
            offset: 48,
            left: 2,
        };
        assert_eq!(p.count(), 0);
        let b = block(&[(b"one", 0)]);
        // The kernel claims more packets than the chain holds.
        let p = Packets {
            bytes: &b,
            offset: 48,
            left: 5,
        };
        assert_eq!(p.count(), 1);
    }
}
