//! WebSocket close codes the relay uses, and why.

/// Why the relay ends a WebSocket connection. Each maps to one close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseWhy {
    /// The relay is shutting down (1001 going away).
    Shutdown,
    /// Bad header, unknown version or kind, unexpected kind, bad hello
    /// (1002 protocol error).
    Protocol,
    /// A text frame where only binary frames are allowed (1003 unsupported data).
    NotBinary,
    /// A frame above the size limit (1009 message too big).
    TooBig,
    /// The viewer's outbound queue stayed full too long (4001).
    SlowViewer,
    /// No pong (or any frame) within the client timeout (4002).
    HeartbeatTimeout,
    /// A probe did not send its Hello in time (4003).
    HelloTimeout,
}

impl CloseWhy {
    /// The close frame's payload: the code and the label as its reason.
    pub fn close_reason(self) -> actix_http::ws::CloseReason {
        actix_http::ws::CloseReason {
            code: actix_http::ws::CloseCode::from(self.code()),
            description: Some(self.label().to_owned()),
        }
    }

    /// The close code sent to the peer.
    pub fn code(self) -> u16 {
        match self {
            CloseWhy::Shutdown => 1001,
            CloseWhy::Protocol => 1002,
            CloseWhy::NotBinary => 1003,
            CloseWhy::TooBig => 1009,
            CloseWhy::SlowViewer => 4001,
            CloseWhy::HeartbeatTimeout => 4002,
            CloseWhy::HelloTimeout => 4003,
        }
    }

    /// Short label used in metrics and as the close description.
    pub fn label(self) -> &'static str {
        match self {
            CloseWhy::Shutdown => "shutdown",
            CloseWhy::Protocol => "protocol_error",
            CloseWhy::NotBinary => "not_binary",
            CloseWhy::TooBig => "too_big",
            CloseWhy::SlowViewer => "slow_viewer",
            CloseWhy::HeartbeatTimeout => "heartbeat_timeout",
            CloseWhy::HelloTimeout => "hello_timeout",
        }
    }

    /// Every reason, for metrics.
    pub const ALL: [CloseWhy; 7] = [
        CloseWhy::Shutdown,
        CloseWhy::Protocol,
        CloseWhy::NotBinary,
        CloseWhy::TooBig,
        CloseWhy::SlowViewer,
        CloseWhy::HeartbeatTimeout,
        CloseWhy::HelloTimeout,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
