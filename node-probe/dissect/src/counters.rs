//! Named cumulative counters of the engine (gaps, parse errors, caps hit…).

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        /// One named counter.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Counter { $($name),* }

        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

counters!(
    tcp_segments,
    udp_datagrams,
    connections,
    connections_over_cap,
    retransmitted_segments,
    overlapping_segments,
    ooo_segments,
    ooo_out_of_window,
    gaps,
    gap_resyncs,
    gap_give_ups,
    rst,
    detect_unknown,
    parse_errors,
    cap_buffer,
    cap_pending,
    cap_headers,
    cap_streams,
    cap_hpack,
    responses_without_request,
    http_upgrades,
    dns_unparsed,
    dns_pending_over_cap,
    redis_push_messages,
    entries,
    entries_unanswered,
);

/// Cumulative counters, indexed by [`Counter`].
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    values: Vec<u64>,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            values: vec![0; NAMES.len()],
        }
    }
}

impl Counters {
    pub(crate) fn bump(&mut self, c: Counter) {
        self.add(c, 1);
    }

    pub(crate) fn add(&mut self, c: Counter, n: u64) {
        if let Some(v) = self.values.get_mut(c as usize) {
            *v = v.saturating_add(n);
        }
    }

    #[cfg(test)]
    pub(crate) fn get(&self, c: Counter) -> u64 {
        self.values.get(c as usize).copied().unwrap_or(0)
    }

    pub(crate) fn named(&self) -> Vec<(String, u64)> {
        NAMES
            .iter()
            .zip(&self.values)
            .map(|(n, v)| ((*n).to_string(), *v))
            .collect()
    }
}
