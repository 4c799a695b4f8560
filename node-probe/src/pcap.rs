//! pcap and pcapng files: a record-at-a-time reader over any [`Read`].
//!
//! The parsing is sans-IO in spirit: it only asks the reader for exact byte
//! counts and keeps one reusable buffer, so a record never exceeds
//! [`MAX_RECORD_LEN`] of memory. Malformed files give a [`ProbeError`], never
//! a panic. Packet timestamps (µs since the Unix epoch) are the only clock.

use std::io::{ErrorKind, Read};

use crate::decode::LinkType;
use crate::error::ProbeError;

/// Largest record (pcap) or block (pcapng) accepted, in bytes.
pub const MAX_RECORD_LEN: usize = 256 * 1024 + 64;
/// Most interfaces a pcapng section may describe.
pub const MAX_INTERFACES: usize = 256;

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

/// Reads pcap or pcapng records one by one.
#[derive(Debug)]
pub struct CaptureReader<R> {
    inner: R,
    format: Format,
    buf: Vec<u8>,
    /// Blocks skipped because they carry no packet (statistics, names, …).
    pub skipped_blocks: u64,
}

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

fn need<R: Read>(r: &mut R, buf: &mut [u8], what: &'static str) -> Result<(), ProbeError> {
    if fill(r, buf, what)? {
        Ok(())
    } else {
        Err(ProbeError::Truncated(what))
    }
}

const SHB: u32 = 0x0A0D_0D0A;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

impl<R: Read> CaptureReader<R> {
    /// Reads the file header and detects the format.
    pub fn new(mut inner: R) -> Result<Self, ProbeError> {
        let mut magic = [0u8; 4];
        need(&mut inner, &mut magic, "file header")?;
        let le = u32::from_le_bytes(magic);
        let be = u32::from_be_bytes(magic);
        let pcap_magic = |m: u32| match m {
            0xa1b2_c3d4 => Some(1_000_000),
            0xa1b2_3c4d => Some(1_000_000_000),
            _ => None,
        };
        let format = if let Some(units) = pcap_magic(le) {
            Self::pcap_header(&mut inner, false, units)?
        } else if let Some(units) = pcap_magic(be) {
            Self::pcap_header(&mut inner, true, units)?
        } else if le == SHB {
            section_header(&mut inner)?
        } else {
            return Err(ProbeError::BadMagic(magic));
        };
        Ok(CaptureReader {
            inner,
            format,
            buf: Vec::new(),
            skipped_blocks: 0,
        })
    }

    fn pcap_header(r: &mut R, big: bool, units: u64) -> Result<Format, ProbeError> {
        let mut h = [0u8; 20];
        need(r, &mut h, "pcap file header")?;
        let network = u32_of(&h[16..20], big) & 0x0fff_ffff;
        Ok(Format::Pcap {
            big_endian: big,
            units,
            link: LinkType::from_code(network),
        })
    }

    /// The next packet, or `None` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ProbeError> {
        match self.format {
            Format::Pcap {
                big_endian,
                units,
                link,
            } => {
                let mut h = [0u8; 16];
                if !fill(&mut self.inner, &mut h, "pcap record header")? {
                    return Ok(None);
                }
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
                self.buf.resize(incl, 0);
                need(&mut self.inner, &mut self.buf, "pcap record")?;
                let ts_us = to_us(secs * units + frac, units);
                Ok(Some(Record {
                    ts_us,
                    link,
                    orig_len,
                    data: &self.buf,
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
            let mut h = [0u8; 8];
            if !fill(&mut self.inner, &mut h, "pcapng block header")? {
                return Ok(None);
            }
            if u32::from_le_bytes([h[0], h[1], h[2], h[3]]) == SHB {
                // A new section: byte order and interfaces start over. Its
                // length field is read again by `section_header`.
                let mut rest = [0u8; 4];
                need(&mut self.inner, &mut rest, "section header block")?;
                let mut again = std::io::Cursor::new([
                    h[4], h[5], h[6], h[7], rest[0], rest[1], rest[2], rest[3],
                ])
                .chain(&mut self.inner);
                self.format = section_header(&mut again)?;
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
            self.buf.resize(len - 8, 0);
            need(&mut self.inner, &mut self.buf, "pcapng block")?;
            let body_len = len - 12;
            match kind {
                1 => {
                    self.interface_description(body_len, big)?;
                }
                6 | 2 => {
                    // Enhanced packet block, or the obsolete packet block.
                    if body_len < 20 {
                        return Err(ProbeError::BadBlock("short packet block".into()));
                    }
                    let b = &self.buf[..body_len];
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
                        data: &self.buf[20..20 + cap],
                    }));
                }
                3 => {
                    // Simple packet block: interface 0, no timestamp.
                    if body_len < 4 {
                        return Err(ProbeError::BadBlock("short simple packet block".into()));
                    }
                    let orig_len = u32_of(&self.buf[0..4], big);
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
                        data: &self.buf[4..4 + cap],
                    }));
                }
                _ => self.skipped_blocks += 1,
            }
        }
    }
}

/// Reads the rest of a section header block whose type was just read.
fn section_header<C: Read>(r: &mut C) -> Result<Format, ProbeError> {
    {
        let mut h = [0u8; 8];
        need(r, &mut h, "section header block")?;
        let big = match u32::from_le_bytes([h[4], h[5], h[6], h[7]]) {
            BYTE_ORDER_MAGIC => false,
            m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
            _ => return Err(ProbeError::BadBlock("bad byte-order magic".into())),
        };
        let len = u32_of(&h[0..4], big) as usize;
        if !(28..=MAX_RECORD_LEN).contains(&len) || !len.is_multiple_of(4) {
            return Err(ProbeError::BadBlock(format!("section header length {len}")));
        }
        let mut rest = vec![0u8; len - 12];
        need(r, &mut rest, "section header block")?;
        Ok(Format::PcapNg {
            big_endian: big,
            interfaces: Vec::new(),
        })
    }
}

impl<R: Read> CaptureReader<R> {
    fn interface_description(&mut self, body_len: usize, big: bool) -> Result<(), ProbeError> {
        if body_len < 8 {
            return Err(ProbeError::BadBlock("short interface description".into()));
        }
        let b = &self.buf[..body_len];
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
        let Format::PcapNg { interfaces, .. } = &mut self.format else {
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
