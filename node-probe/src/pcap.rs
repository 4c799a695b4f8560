//! pcap and pcapng files: a record-at-a-time reader over any [`Read`], over
//! bytes in memory, or over a [`Read`] in chunks.
//!
//! The parsing is sans-IO in spirit: it only asks its [`Input`] for exact
//! byte counts, so a record never exceeds [`MAX_RECORD_LEN`] of memory.
//! Over a [`Read`] ([`CaptureReader`]) the input keeps one reusable buffer
//! and every record is copied into it; over bytes already in memory
//! ([`SliceReader`]) records point into those bytes, with no copy; read in
//! chunks ([`ChunkInput`], what `--pcap` uses) records are parsed where they
//! land in the chunk buffer. All parse the same way and fail the same way. Malformed files give a [`ProbeError`],
//! never a panic. Packet timestamps (µs since the Unix epoch) are the only
//! clock.

use std::io::{ErrorKind, Read};

use crate::decode::LinkType;
use crate::error::ProbeError;

/// Largest record (pcap) or block (pcapng) accepted, in bytes.
pub const MAX_RECORD_LEN: usize = 256 * 1024 + 64;
/// Most interfaces a pcapng section may describe.
pub const MAX_INTERFACES: usize = 256;
/// Bytes of a capture file `--pcap` reads at a time into a [`ChunkInput`]
/// (small enough to stay in cache while its records are parsed).
pub const READ_CHUNK: usize = 256 << 10;

/// One captured packet.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Capture time, µs since the Unix epoch.
    pub ts_us: i64,
    /// The link type, `None` when the file names one this probe cannot decode.
    pub link: Option<LinkType>,
    /// Length of the packet on the wire (may exceed `data.len()`).
    pub orig_len: u32,
    pub data: &'a [u8],
}

/// Where a capture's bytes come from: exact byte counts, in order.
pub trait Input {
    /// Takes the next `n` bytes, then readable with [`Input::last`].
    /// `Ok(false)` on a clean end of input before the first byte;
    /// [`ProbeError::Truncated`]`(what)` when the input ends inside them.
    fn take(&mut self, n: usize, what: &'static str) -> Result<bool, ProbeError>;
    /// The bytes of the last successful [`Input::take`].
    fn last(&self) -> &[u8];
}

/// [`Input`] over a [`Read`]: every take is copied into one reused buffer.
#[derive(Debug)]
pub struct ReadInput<R> {
    inner: R,
    buf: Vec<u8>,
}

impl<R: Read> ReadInput<R> {
    pub fn new(inner: R) -> Self {
        ReadInput {
            inner,
            buf: Vec::new(),
        }
    }
}

impl<R: Read> Input for ReadInput<R> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<bool, ProbeError> {
        self.buf.resize(n, 0);
        fill(&mut self.inner, &mut self.buf, what)
    }

    fn last(&self) -> &[u8] {
        &self.buf
    }
}

/// [`Input`] over a [`Read`] through one large reused buffer: takes are
/// slices of it, so a record is not copied again after `read` put it there;
/// only the bytes of a take that straddles the end of what was read move
/// to the front before the next `read`. The same takes, clean ends and
/// truncations as [`ReadInput`].
#[derive(Debug)]
pub struct ChunkInput<R> {
    inner: R,
    buf: Vec<u8>,
    /// Taken up to `taken.pos` …
    taken: Taken,
    /// … and read up to here.
    end: usize,
}

impl<R: Read> ChunkInput<R> {
    /// Reads `capacity` bytes at a time (more when one take is larger).
    pub fn with_capacity(capacity: usize, inner: R) -> Self {
        ChunkInput {
            inner,
            buf: vec![0; capacity.max(1)],
            taken: Taken::default(),
            end: 0,
        }
    }
}

impl<R: Read> Input for ChunkInput<R> {
    #[inline]
    fn take(&mut self, n: usize, what: &'static str) -> Result<bool, ProbeError> {
        if self.end - self.taken.pos < n {
            self.refill(n)?;
        }
        self.taken.take(self.end, n, what)
    }

    #[inline]
    fn last(&self) -> &[u8] {
        &self.buf[self.taken.last.clone()]
    }
}

impl<R: Read> ChunkInput<R> {
    /// Moves the unread bytes to the front and reads until `n` are held or
    /// the input ends.
    #[cold]
    fn refill(&mut self, n: usize) -> Result<(), ProbeError> {
        self.buf.copy_within(self.taken.pos..self.end, 0);
        self.end -= self.taken.pos;
        self.taken = Taken::default();
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        while self.end < n {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => break,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Takes from bytes held in a buffer: where the next one starts and where
/// the last one is.
#[derive(Debug, Clone, Default)]
struct Taken {
    pos: usize,
    last: std::ops::Range<usize>,
}

impl Taken {
    /// Takes `n` of the bytes held up to `end`. As a reader would: nothing
    /// left at all is a clean end (for a non-empty take), anything less
    /// than asked is a truncation.
    #[inline]
    fn take(&mut self, end: usize, n: usize, what: &'static str) -> Result<bool, ProbeError> {
        let left = end - self.pos;
        if n > left {
            return if left == 0 && n > 0 {
                Ok(false)
            } else {
                Err(ProbeError::Truncated(what))
            };
        }
        self.last = self.pos..self.pos + n;
        self.pos += n;
        Ok(true)
    }
}

/// [`Input`] over bytes in memory: takes are sub-slices, nothing is copied.
#[derive(Debug, Clone)]
pub struct SliceInput<'a> {
    data: &'a [u8],
    taken: Taken,
}

impl<'a> SliceInput<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        SliceInput {
            data,
            taken: Taken::default(),
        }
    }

    /// Bytes taken so far.
    pub fn position(&self) -> usize {
        self.taken.pos
    }
}

impl Input for SliceInput<'_> {
    #[inline]
    fn take(&mut self, n: usize, what: &'static str) -> Result<bool, ProbeError> {
        self.taken.take(self.data.len(), n, what)
    }

    #[inline]
    fn last(&self) -> &[u8] {
        &self.data[self.taken.last.clone()]
    }
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: Option<LinkType>,
    /// Timestamp units per second.
    units: u64,
}

#[derive(Debug)]
enum Format {
    Pcap {
        big_endian: bool,
        units: u64,
        link: Option<LinkType>,
    },
    PcapNg {
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

/// Reads pcap or pcapng records one by one from an [`Input`].
#[derive(Debug)]
pub struct Capture<I> {
    input: I,
    format: Format,
    /// Blocks skipped because they carry no packet (statistics, names, …).
    pub skipped_blocks: u64,
}

/// Reads pcap or pcapng records one by one from any [`Read`].
pub type CaptureReader<R> = Capture<ReadInput<R>>;

/// Reads pcap or pcapng records one by one from bytes in memory, without
/// copying them.
pub type SliceReader<'a> = Capture<SliceInput<'a>>;

fn u16_of(b: &[u8], big: bool) -> u16 {
    let a = [b[0], b[1]];
    if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

fn u32_of(b: &[u8], big: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

fn to_us(ts: u64, units: u64) -> i64 {
    // The common resolutions without a 128-bit division (same results).
    match units {
        1_000_000 => return i64::try_from(ts).unwrap_or(i64::MAX),
        1_000_000_000 => return i64::try_from(ts / 1000).unwrap_or(i64::MAX),
        _ => {}
    }
    let us = u128::from(ts) * 1_000_000 / u128::from(units.max(1));
    i64::try_from(us).unwrap_or(i64::MAX)
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` on a clean end of input
/// before the first byte.
fn fill<R: Read>(r: &mut R, buf: &mut [u8], what: &'static str) -> Result<bool, ProbeError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(ProbeError::Truncated(what)),
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// Takes exactly `n` bytes; the end of input is a truncation.
fn need<I: Input>(input: &mut I, n: usize, what: &'static str) -> Result<(), ProbeError> {
    if input.take(n, what)? {
        Ok(())
    } else {
        Err(ProbeError::Truncated(what))
    }
}

const SHB: u32 = 0x0A0D_0D0A;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

impl<R: Read> Capture<ReadInput<R>> {
    /// Reads the file header from `inner` and detects the format.
    pub fn new(inner: R) -> Result<Self, ProbeError> {
        Self::with_input(ReadInput::new(inner))
    }
}

impl<'a> Capture<SliceInput<'a>> {
    /// Reads the file header at the start of `data` and detects the format.
    pub fn from_slice(data: &'a [u8]) -> Result<Self, ProbeError> {
        Self::with_input(SliceInput::new(data))
    }
}

impl<I: Input> Capture<I> {
    /// Reads the file header from `input` and detects the format.
    pub fn with_input(mut input: I) -> Result<Self, ProbeError> {
        need(&mut input, 4, "file header")?;
        let b = input.last();
        let magic = [b[0], b[1], b[2], b[3]];
        let le = u32::from_le_bytes(magic);
        let be = u32::from_be_bytes(magic);
        let pcap_magic = |m: u32| match m {
            0xa1b2_c3d4 => Some(1_000_000),
            0xa1b2_3c4d => Some(1_000_000_000),
            _ => None,
        };
        let format = if let Some(units) = pcap_magic(le) {
            pcap_header(&mut input, false, units)?
        } else if let Some(units) = pcap_magic(be) {
            pcap_header(&mut input, true, units)?
        } else if le == SHB {
            need(&mut input, 8, "section header block")?;
            let h = input.last();
            let h = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]];
            section_header(&mut input, h)?
        } else {
            return Err(ProbeError::BadMagic(magic));
        };
        Ok(Capture {
            input,
            format,
            skipped_blocks: 0,
        })
    }

    /// The input, e.g. to ask how far it got.
    pub fn input(&self) -> &I {
        &self.input
    }

    /// The next packet, or `None` at the end of the file.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ProbeError> {
        match self.format {
            Format::Pcap {
                big_endian,
                units,
                link,
            } => {
                if !self.input.take(16, "pcap record header")? {
                    return Ok(None);
                }
                let h = self.input.last();
                let secs = u64::from(u32_of(&h[0..4], big_endian));
                let frac = u64::from(u32_of(&h[4..8], big_endian));
                let incl = u32_of(&h[8..12], big_endian) as usize;
                let orig_len = u32_of(&h[12..16], big_endian);
                if incl > MAX_RECORD_LEN {
                    return Err(ProbeError::RecordTooLarge {
                        len: incl,
                        max: MAX_RECORD_LEN,
                    });
                }
                need(&mut self.input, incl, "pcap record")?;
                let ts_us = to_us(secs * units + frac, units);
                Ok(Some(Record {
                    ts_us,
                    link,
                    orig_len,
                    data: self.input.last(),
                }))
            }
            Format::PcapNg { .. } => self.next_block(),
        }
    }

    fn next_block(&mut self) -> Result<Option<Record<'_>>, ProbeError> {
        loop {
            let big = match &self.format {
                Format::PcapNg { big_endian, .. } => *big_endian,
                Format::Pcap { .. } => return Ok(None),
            };
            if !self.input.take(8, "pcapng block header")? {
                return Ok(None);
            }
            let h = self.input.last();
            let h = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]];
            if u32::from_le_bytes([h[0], h[1], h[2], h[3]]) == SHB {
                // A new section: byte order and interfaces start over.
                need(&mut self.input, 4, "section header block")?;
                let rest = self.input.last();
                let lm = [h[4], h[5], h[6], h[7], rest[0], rest[1], rest[2], rest[3]];
                self.format = section_header(&mut self.input, lm)?;
                continue;
            }
            let kind = u32_of(&h[0..4], big);
            let len = u32_of(&h[4..8], big) as usize;
            if len < 12 || !len.is_multiple_of(4) {
                return Err(ProbeError::BadBlock(format!("block length {len}")));
            }
            if len > MAX_RECORD_LEN {
                return Err(ProbeError::RecordTooLarge {
                    len,
                    max: MAX_RECORD_LEN,
                });
            }
            need(&mut self.input, len - 8, "pcapng block")?;
            let body_len = len - 12;
            match kind {
                1 => {
                    interface_description(&self.input.last()[..body_len], big, &mut self.format)?;
                }
                6 | 2 => {
                    // Enhanced packet block, or the obsolete packet block.
                    if body_len < 20 {
                        return Err(ProbeError::BadBlock("short packet block".into()));
                    }
                    let b = &self.input.last()[..body_len];
                    let iface = if kind == 6 {
                        u32_of(&b[0..4], big) as usize
                    } else {
                        usize::from(u16_of(&b[0..2], big))
                    };
                    let ts = (u64::from(u32_of(&b[4..8], big)) << 32)
                        | u64::from(u32_of(&b[8..12], big));
                    let cap = u32_of(&b[12..16], big) as usize;
                    let orig_len = u32_of(&b[16..20], big);
                    if cap > body_len - 20 {
                        return Err(ProbeError::BadBlock(format!(
                            "captured length {cap} exceeds the block"
                        )));
                    }
                    let Format::PcapNg { interfaces, .. } = &self.format else {
                        return Ok(None);
                    };
                    let Some(i) = interfaces.get(iface).copied() else {
                        return Err(ProbeError::BadBlock(format!(
                            "packet names unknown interface {iface}"
                        )));
                    };
                    return Ok(Some(Record {
                        ts_us: to_us(ts, i.units),
                        link: i.link,
                        orig_len,
                        data: &self.input.last()[20..20 + cap],
                    }));
                }
                3 => {
                    // Simple packet block: interface 0, no timestamp.
                    if body_len < 4 {
                        return Err(ProbeError::BadBlock("short simple packet block".into()));
                    }
                    let orig_len = u32_of(&self.input.last()[0..4], big);
                    let cap = (orig_len as usize).min(body_len - 4);
                    let Format::PcapNg { interfaces, .. } = &self.format else {
                        return Ok(None);
                    };
                    let Some(i) = interfaces.first().copied() else {
                        return Err(ProbeError::BadBlock(
                            "simple packet before any interface".into(),
                        ));
                    };
                    return Ok(Some(Record {
                        ts_us: 0,
                        link: i.link,
                        orig_len,
                        data: &self.input.last()[4..4 + cap],
                    }));
                }
                _ => self.skipped_blocks += 1,
            }
        }
    }
}

fn pcap_header<I: Input>(input: &mut I, big: bool, units: u64) -> Result<Format, ProbeError> {
    need(input, 20, "pcap file header")?;
    let h = input.last();
    let network = u32_of(&h[16..20], big) & 0x0fff_ffff;
    Ok(Format::Pcap {
        big_endian: big,
        units,
        link: LinkType::from_code(network),
    })
}

/// Reads the rest of a section header block whose type, length and
/// byte-order magic were just read (`h`: the length, then the magic).
fn section_header<I: Input>(input: &mut I, h: [u8; 8]) -> Result<Format, ProbeError> {
    let big = match u32::from_le_bytes([h[4], h[5], h[6], h[7]]) {
        BYTE_ORDER_MAGIC => false,
        m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
        _ => return Err(ProbeError::BadBlock("bad byte-order magic".into())),
    };
    let len = u32_of(&h[0..4], big) as usize;
    if !(28..=MAX_RECORD_LEN).contains(&len) || !len.is_multiple_of(4) {
        return Err(ProbeError::BadBlock(format!("section header length {len}")));
    }
    need(input, len - 12, "section header block")?;
    Ok(Format::PcapNg {
        big_endian: big,
        interfaces: Vec::new(),
    })
}

/// An interface description block's body: adds the interface.
fn interface_description(b: &[u8], big: bool, format: &mut Format) -> Result<(), ProbeError> {
    if b.len() < 8 {
        return Err(ProbeError::BadBlock("short interface description".into()));
    }
    let link = LinkType::from_code(u32::from(u16_of(&b[0..2], big)));
    let mut units = 1_000_000u64;
    // Options: code u16, length u16, value padded to 4.
    let mut at = 8;
    while at + 4 <= b.len() {
        let code = u16_of(&b[at..at + 2], big);
        let olen = usize::from(u16_of(&b[at + 2..at + 4], big));
        let value = b
            .get(at + 4..at + 4 + olen)
            .ok_or_else(|| ProbeError::BadBlock("option overruns block".into()))?;
        match code {
            0 => break,
            9 if olen >= 1 => {
                let r = value[0];
                let exp = u32::from(r & 0x7f);
                units = if r & 0x80 != 0 {
                    1u64.checked_shl(exp).unwrap_or(0)
                } else {
                    10u64.checked_pow(exp).unwrap_or(0)
                };
                if units == 0 {
                    return Err(ProbeError::BadBlock(format!("timestamp resolution {r:#x}")));
                }
            }
            _ => {}
        }
        at += 4 + olen.div_ceil(4) * 4;
    }
    let Format::PcapNg { interfaces, .. } = format else {
        return Ok(());
    };
    if interfaces.len() >= MAX_INTERFACES {
        return Err(ProbeError::BadBlock(format!(
            "more than {MAX_INTERFACES} interfaces"
        )));
    }
    interfaces.push(Interface { link, units });
    Ok(())
}

/// Gap added between two passes of a looped replay, µs: the next pass
/// starts this long after the previous pass's last packet.
pub const REPLAY_PASS_GAP_US: i64 = 1_000;

/// The clock of a replayed capture (`--pcap-loop`, `--pcap-realtime`):
/// maps file timestamps to the timestamps the pipeline sees.
///
/// Every timestamp of pass `k` is shifted by `start + k × period`, where
/// `period` is the first pass's span (first to latest packet) plus
/// [`REPLAY_PASS_GAP_US`]. So each pass looks like the same traffic again,
/// later in time, and time never goes back from one pass to the next.
/// With a start time (`--pcap-realtime`), the first packet is shifted to it.
/// Sans-IO: the shell passes the current time in and does the sleeping.
#[derive(Debug, Clone, Default)]
pub struct ReplayClock {
    start_us: Option<i64>,
    /// File time of the first packet.
    first_us: Option<i64>,
    /// Latest file time seen in the first pass.
    latest_us: i64,
    period_us: Option<i64>,
    pass: i64,
}

impl ReplayClock {
    /// A clock that keeps file time on the first pass (`start_us` `None`)
    /// or moves the first packet to `start_us`.
    pub fn new(start_us: Option<i64>) -> Self {
        ReplayClock {
            start_us,
            ..ReplayClock::default()
        }
    }

    /// The pipeline timestamp of a packet stamped `file_us` in the file.
    pub fn map(&mut self, file_us: i64) -> i64 {
        let first = *self.first_us.get_or_insert(file_us);
        if self.period_us.is_none() {
            self.latest_us = self.latest_us.max(file_us);
        }
        let base = self.start_us.map_or(0, |s| s.saturating_sub(first));
        let shift = self
            .period_us
            .unwrap_or(0)
            .saturating_mul(self.pass)
            .saturating_add(base);
        file_us.saturating_add(shift)
    }

    /// The current pass ended; the next one starts one period later.
    pub fn next_pass(&mut self) {
        if self.period_us.is_none() {
            let first = self.first_us.unwrap_or(0);
            self.period_us = Some(
                self.latest_us
                    .saturating_sub(first)
                    .max(0)
                    .saturating_add(REPLAY_PASS_GAP_US),
            );
        }
        self.pass += 1;
    }

    /// Completed passes.
    pub fn passes(&self) -> i64 {
        self.pass
    }

    /// The shift between passes, once the first pass is over.
    pub fn period_us(&self) -> Option<i64> {
        self.period_us
    }
}

#[cfg(test)]
mod replay_tests {
    use super::ReplayClock;

    #[test]
    fn file_time_is_kept_on_the_first_pass_and_shifted_by_the_span_after() {
        let mut c = ReplayClock::new(None);
        assert_eq!(c.map(1_000_000), 1_000_000);
        assert_eq!(c.map(1_400_000), 1_400_000);
        // A packet stamped earlier than its predecessor keeps its own time.
        assert_eq!(c.map(1_300_000), 1_300_000);
        c.next_pass();
        assert_eq!(c.period_us(), Some(400_000 + super::REPLAY_PASS_GAP_US));
        assert_eq!(c.map(1_000_000), 1_401_000);
        assert_eq!(c.map(1_400_000), 1_801_000);
        c.next_pass();
        assert_eq!(c.map(1_000_000), 1_802_000);
        assert_eq!(c.passes(), 2);
    }

    #[test]
    fn realtime_moves_the_first_packet_to_the_start_time() {
        let mut c = ReplayClock::new(Some(5_000_000_000));
        assert_eq!(c.map(1_000), 5_000_000_000);
        assert_eq!(c.map(3_000), 5_000_002_000);
        c.next_pass();
        assert_eq!(c.map(1_000), 5_000_003_000);
    }

    #[test]
    fn a_capture_of_one_instant_still_moves_forward() {
        let mut c = ReplayClock::new(None);
        assert_eq!(c.map(7), 7);
        c.next_pass();
        assert!(c.map(7) > 7);
    }
}
