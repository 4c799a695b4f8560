//! Shared test code: conversation fixtures and a one-line entry summary.
#![allow(dead_code)]

pub mod conversation;
pub mod pcap;
pub mod summary;
