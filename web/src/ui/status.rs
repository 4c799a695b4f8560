//! The status area: connection state, probes, entries, drops, errors.

use leptos::prelude::*;

use super::Ctx;
use crate::render::budget_note;
use crate::scene::EDGE_BUDGET;
use wiremap_model::human_bytes;

#[component]
pub fn StatusBar(ctx: Ctx) -> impl IntoView {
    let st = ctx.status;
    view! {
        <footer
            id="status"
            role="status"
            aria-live="polite"
            data-state=move || st.with(|s| s.state.as_str())
            data-probes=move || st.with(|s| s.probes.len().to_string())
            data-entries=move || st.with(|s| s.entries.to_string())
            data-drops=move || st.with(|s| s.dropped_batches.to_string())
            data-decode-errors=move || st.with(|s| s.decode_errors.to_string())
            data-filter-error=move || st.with(|s| s.filter_error.is_some().to_string())
            data-paused=move || st.with(|s| s.paused.to_string())
            data-nodes=move || st.with(|s| s.nodes.to_string())
            data-edges=move || st.with(|s| s.edges.to_string())
            data-stored=move || st.with(|s| s.stored.to_string())
            data-matched=move || st.with(|s| s.matched.to_string())
            data-computed=move || st.with(|s| s.computed.to_string())
        >
            <span class="conn">
                <span class="dot"></span>
                {move || st.with(|s| s.state.as_str())}
                {move || st.with(|s| s.retry_in_ms.map(|ms| format!(" (retry in {:.1} s)", f64::from(ms) / 1000.0)).unwrap_or_default())}
            </span>
            <span title=move || st.with(|s| s.probes.join(", "))>
                "probes: " {move || st.with(|s| s.probes.len())}
            </span>
            <span>"entries: " {move || st.with(|s| s.entries)}
                {move || st.with(|s| format!(" ({:.1}/s)", s.entries_per_s))}
            </span>
            <span>"drops: " {move || st.with(|s| format!("{} batches, {}", s.dropped_batches, human_bytes(s.dropped_bytes as f64)))}</span>
            <span>"nodes: " {move || st.with(|s| s.nodes)} " · edges: " {move || st.with(|s| s.edges)}</span>
            <span class="warn" data-edge-budget class:gone=move || st.with(|s| s.edges <= EDGE_BUDGET)>
                {move || st.with(|s| if s.edges > EDGE_BUDGET { budget_note((EDGE_BUDGET, s.edges)) } else { String::new() })}
            </span>
            <span class="warn" class:gone=move || st.with(|s| s.decode_errors == 0 && s.overflow == 0)>
                {move || st.with(|s| format!("bad frames: {} · over caps: {}", s.decode_errors, s.overflow))}
            </span>
            <span class="error" class:gone=move || st.with(|s| s.filter_error.is_none())>
                {move || st.with(|s| s.filter_error.as_ref().map(|e| format!("filter not applied: {}", e.lines().next().unwrap_or(""))).unwrap_or_default())}
            </span>
            <span class="warn" class:gone=move || st.with(|s| s.filter_eval_errors == 0)>
                {move || st.with(|s| format!("filter errors: {}", s.filter_eval_errors))}
            </span>
            <span class="paused" class:gone=move || st.with(|s| !s.paused)>"PAUSED"</span>
            <span class="error" class:gone=move || st.with(|s| s.last_error.is_none())>
                {move || st.with(|s| s.last_error.clone().unwrap_or_default())}
            </span>
        </footer>
    }
}
