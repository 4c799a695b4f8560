//! The legend: namespaces (colours), nodes and protocols; click to hide or
//! show, "Hide all", "Reset". Hidden items stay listed, dimmed.

use leptos::prelude::*;

use super::Ctx;
use crate::graph::NO_NAMESPACE;
use crate::palette::{namespace_colour, protocol_colour};
use crate::view_state::{toggle, LegendKind, MapType, ViewState};

fn chip(ctx: Ctx, kind: LegendKind, item: String, colour: Option<&'static str>) -> impl IntoView {
    let label = if item == NO_NAMESPACE {
        "no namespace".to_string()
    } else {
        item.clone()
    };
    let probe = item.clone();
    let probe2 = item.clone();
    let hidden = move || ctx.view.with(|v| v.hidden(kind).contains(&probe));
    let hidden2 = move || ctx.view.with(|v| v.hidden(kind).contains(&probe2));
    let dot = colour.map(|c| view! { <span class="dot" style:background-color=c></span> });
    view! {
        <button
            class="chip"
            data-legend=kind.code()
            data-item=item.clone()
            class:dimmed=hidden
            aria-pressed=move || if hidden2() { "false" } else { "true" }
            on:click=move |_| ctx.view.update(|v| toggle(v.hidden_mut(kind), &item))
        >
            {dot}
            {label}
        </button>
    }
}

#[component]
pub fn Legend(ctx: Ctx) -> impl IntoView {
    let hide_all = move |_| {
        let lg = ctx.legend.get_untracked();
        ctx.view.update(|v| {
            v.hidden_namespaces = lg.namespaces.iter().cloned().collect();
            if v.map == MapType::L7 {
                v.hidden_protocols = lg.protocols.iter().cloned().collect();
            }
        });
    };
    let reset = move |_| ctx.view.update(ViewState::show_all);
    view! {
        <section id="legend" class="panel legend" class:gone=move || !ctx.show_legend.get() aria-label="Legend">
            <div class="panel-head">
                <h2>"Legend"</h2>
                <button id="hide-all" on:click=hide_all>"Hide all"</button>
                <button id="reset" on:click=reset>"Reset"</button>
            </div>
            <div class="chips">
                {move || {
                    ctx.legend
                        .get()
                        .namespaces
                        .into_iter()
                        .map(|ns| {
                            let c = namespace_colour(if ns == NO_NAMESPACE { "" } else { &ns });
                            chip(ctx, LegendKind::Namespace, ns, Some(c))
                        })
                        .collect_view()
                }}
            </div>
            <div class="chips">
                {move || {
                    ctx.legend
                        .get()
                        .nodes
                        .into_iter()
                        .map(|n| chip(ctx, LegendKind::Node, n, None))
                        .collect_view()
                }}
            </div>
            <div class="chips" class:gone=move || ctx.view.with(|v| v.map == MapType::L4)>
                {move || {
                    ctx.legend
                        .get()
                        .protocols
                        .into_iter()
                        .map(|p| {
                            let c = wiremap_wire::Protocol::from_name(&p)
                                .map(protocol_colour)
                                .unwrap_or(crate::palette::NEUTRAL_EDGE);
                            chip(ctx, LegendKind::Protocol, p, Some(c))
                        })
                        .collect_view()
                }}
            </div>
        </section>
    }
}
