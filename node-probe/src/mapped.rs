//! Capture files read through a read-only memory map, so records are parsed
//! where the page cache holds them: no `read` system call per megabyte, no
//! copy into a user buffer (the copy and the kernel's page-cache walk were
//! about an eighth of `--pcap` CPU time, docs/bench/probe.md).
//!
//! `--pcap` no longer uses it: reading a quarter MiB at a time into one
//! buffer and parsing records there ([`crate::pcap::ChunkInput`]) measured
//! about a tenth less CPU on the benchmark capture, the page faults and
//! releases of the mapping costing more than the copy (docs/bench/probe.md,
//! 2026-11-27). It stays as an [`Input`] for callers that want it.
//!
//! Why `unsafe` lives here: `mmap`, `madvise` and `munmap` are only
//! reachable through `libc`, and turning the mapping into a byte slice is
//! `unsafe`. Besides `ring.rs`, this is the only module of the crate
//! allowed to use `unsafe`; every block says why it is sound, and what
//! leaves the module is safe: [`MappedInput::open`] and the
//! [`crate::pcap::Input`] it implements.
//!
//! The known hazard of a file mapping, and the choice made: if the file is
//! **truncated** while mapped (or the disk under it fails), touching a page
//! past the new end raises `SIGBUS` and the process dies, where `read`
//! would have returned a short read or an error. Capture files given on the
//! command line are expected to be static while the probe reads them, so a
//! regular file is mapped; anything else (a pipe, `/dev/stdin`, a character
//! device, a socket) is read with `read` ([`MappedInput::open`] returns
//! `None`), as is a file whose mapping fails. A file still growing is read
//! up to its size when opened (each `--pcap-loop` pass opens it again).
//!
//! Memory: pages of a file mapping count in the process's resident set as
//! they are touched, so the consumed part of the file is released with
//! `MADV_DONTNEED` every [`RELEASE_STEP`] bytes; resident file pages stay
//! bounded whatever the capture's size (the page cache keeps them).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

use crate::error::ProbeError;
use crate::pcap::Input;

/// Consumed bytes handed back (`MADV_DONTNEED`) at a time.
pub const RELEASE_STEP: usize = 2 << 20;

/// A read-only private mapping of a whole file.
#[derive(Debug)]
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    page: usize,
}

impl Mapping {
    /// Maps `len` (> 0) bytes of `file` from its start.
    fn new(file: &File, len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh mapping (null address hint) of a valid open file
        // descriptor, read-only and private, so it aliases no Rust memory;
        // the result is checked for MAP_FAILED before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096);
        let m = Mapping { ptr, len, page };
        // Read ahead eagerly: the file is read once, front to back. Only a
        // hint, so a failure changes nothing.
        // SAFETY: the range is exactly this mapping.
        unsafe {
            libc::madvise(p, len, libc::MADV_SEQUENTIAL);
        }
        Ok(m)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` points to `len` readable bytes mapped for the life
        // of `self`; they are never written through this process (PROT_READ,
        // MAP_PRIVATE) and the returned borrow cannot outlive `self`. The
        // one way they could change is the file being modified on disk,
        // the documented hazard of this module (see the module docs).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// Drops the page-table entries of whole pages in `[from, to)` so they
    /// stop counting as this process's memory. Their contents do not
    /// change: an untouched private file page is read again from the file
    /// if it is touched later. Returns where the released range ends.
    fn release(&self, from: usize, to: usize) -> usize {
        let start = from & !(self.page - 1);
        let end = (to & !(self.page - 1)).min(self.len);
        if end <= start {
            return from;
        }
        // SAFETY: `[start, end)` lies inside the mapping and is
        // page-aligned. MADV_DONTNEED on a read-only private file mapping
        // never written to only discards page-table entries; a later read
        // faults the same file bytes back in. Callers release only bytes no
        // live borrow points to (`take` takes `&mut self`).
        unsafe {
            libc::madvise(
                self.ptr.as_ptr().add(start).cast(),
                end - start,
                libc::MADV_DONTNEED,
            );
        }
        end
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region mapped in `new`; no borrow of
        // it can outlive `self`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// A capture file as an [`Input`] over its memory map: takes are
/// sub-slices of the mapping, nothing is copied.
#[derive(Debug)]
pub struct MappedInput {
    map: Option<Mapping>,
    pos: usize,
    last: std::ops::Range<usize>,
    /// Bytes before this were released.
    released: usize,
}

impl MappedInput {
    /// Maps `file` when it is a regular file. `Ok(None)`: not a regular
    /// file, or the mapping failed; read it with `read` instead.
    pub fn open(file: &File) -> Result<Option<MappedInput>, ProbeError> {
        let meta = file.metadata()?;
        if !meta.file_type().is_file() {
            return Ok(None);
        }
        let Ok(len) = usize::try_from(meta.len()) else {
            return Ok(None);
        };
        let map = if len == 0 {
            // Nothing to map (mmap refuses a zero length): an empty input.
            None
        } else {
            match Mapping::new(file, len) {
                Ok(m) => Some(m),
                Err(_) => return Ok(None),
            }
        };
        Ok(Some(MappedInput {
            map,
            pos: 0,
            last: 0..0,
            released: 0,
        }))
    }

    fn data(&self) -> &[u8] {
        self.map.as_ref().map_or(&[], Mapping::bytes)
    }

    /// Bytes taken so far.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl Input for MappedInput {
    #[inline]
    fn take(&mut self, n: usize, what: &'static str) -> Result<bool, ProbeError> {
        let len = self.data().len();
        let left = len - self.pos;
        if n > left {
            // As a reader would: nothing left at all is a clean end (for a
            // non-empty take), anything less than asked is a truncation.
            return if left == 0 && n > 0 {
                Ok(false)
            } else {
                Err(ProbeError::Truncated(what))
            };
        }
        if self.pos - self.released >= RELEASE_STEP {
            if let Some(m) = &self.map {
                self.released = m.release(self.released, self.pos);
            }
        }
        self.last = self.pos..self.pos + n;
        self.pos += n;
        Ok(true)
    }

    #[inline]
    fn last(&self) -> &[u8] {
        &self.data()[self.last.clone()]
    }
}
