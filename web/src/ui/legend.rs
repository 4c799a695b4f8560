//! The legend: namespaces (colours), nodes and protocols; click to hide or
//! show, "Hide all", "Reset". Hidden items stay listed, dimmed. The items
//! and their hidden state come from the model's legend.

use leptos::prelude::*;

use super::Ctx;
use crate::palette::{namespace_colour, protocol_colour};
use crate::session::LegendLine;
use crate::view_state::{LegendKind, MapType, ViewState};

fn chip(
    ctx: Ctx,
    kind: LegendKind,
    line: LegendLine,
    colour: Option<&'static str>,
) -> impl IntoView {
    let dot = colour.map(|c| view! { <span class="dot" style:background-color=c></span> });
    let item = line.name.clone();
    let name = line.name.clone();
    let data_item = line.name;
    view! {
        <button
            class="chip"
            data-legend=kind.code()
            data-item=data_item
            data-hidden=line.hidden.to_string()
            class:dimmed=line.hidden
            aria-pressed=if line.hidden { "false" } else { "true" }
            on:click=move |_| ctx.view.update(|v| v.toggle_hidden(kind, &item))
        >
            {dot}
            {name}
        </button>
    }
}

#[component]
pub fn Legend(ctx: Ctx) -> impl IntoView {
    let hide_all = move |_| ctx.view.update(ViewState::hide_all);
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
                            let c = namespace_colour(&ns.name);
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
                        .map(|(p, line)| chip(ctx, LegendKind::Protocol, line, Some(protocol_colour(p))))
                        .collect_view()
                }}
            </div>
        </section>
    }
}
