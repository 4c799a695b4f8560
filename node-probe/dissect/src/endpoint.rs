//! The transport-level inputs the probe hands over: endpoints and TCP flags.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// TCP flags of a segment, as the probe decoded them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// One end of a transport conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

/// Hashed as one or two integers instead of field by field (the derived
/// form writes the address's variant, length and bytes separately; the
/// connection maps hash an endpoint pair per packet). Equal endpoints
/// hash equally, which is all `Eq` asks.
impl Hash for Endpoint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self.ip {
            IpAddr::V4(a) => state.write_u64(u64::from(a.to_bits()) << 16 | u64::from(self.port)),
            IpAddr::V6(a) => {
                state.write_u128(a.to_bits());
                state.write_u16(self.port);
            }
        }
    }
}
