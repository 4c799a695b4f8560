//! The table view of the map (always in the DOM, for screen readers and
//! tests) and the details panel of the selected node.

use leptos::prelude::*;

use super::Ctx;
use crate::filter_edit::{append_clause, quote};
use wiremap_model::{human_bytes, human_rate};

/// A "+" that appends `clause` to the display filter (click-to-add).
fn add(ctx: Ctx, clause: String) -> impl IntoView {
    let title = format!("Add `{clause}` to the filter");
    view! {
        <button class="add" title=title on:click=move |_| {
            ctx.view.update(|v| v.filter = append_clause(&v.filter, &clause));
        }>"+"</button>
    }
}

#[component]
pub fn MapTable(ctx: Ctx) -> impl IntoView {
    let t = ctx.table;
    view! {
        <section id="map-table" class="tables" class:visually-hidden=move || !ctx.show_table.get() aria-label="Map as tables">
            <table id="node-table">
                <caption>"Nodes"</caption>
                <thead>
                    <tr><th>"Name"</th><th>"Kind"</th><th>"Namespace"</th><th>"Node"</th><th>"In"</th><th>"Out"</th><th>"Entries"</th></tr>
                </thead>
                <tbody>
                    {move || t.with(|t| t.nodes.iter().map(|r| view! {
                        <tr data-node=r.label.clone() data-key=r.key.clone() data-kind=r.kind.clone() data-namespace=r.namespace.clone() data-bytes-in=r.bytes_in.to_string() data-bytes-out=r.bytes_out.to_string() data-entries=r.entries.to_string()>
                            <td>{r.label.clone()}</td>
                            <td>{r.kind.clone()}</td>
                            <td>{r.namespace.clone()}</td>
                            <td>{r.node.clone()}</td>
                            <td>{human_bytes(r.bytes_in as f64)}</td>
                            <td>{human_bytes(r.bytes_out as f64)}</td>
                            <td>{r.entries}</td>
                        </tr>
                    }).collect_view())}
                </tbody>
            </table>
            <table id="edge-table">
                <caption>"Edges"</caption>
                <thead>
                    <tr><th>"Source"</th><th>"Destination"</th><th>"Protocol"</th><th>"Bytes"</th><th>"Entries"</th><th>"Errors"</th><th>"Shown"</th></tr>
                </thead>
                <tbody>
                    {move || t.with(|t| t.edges.iter().map(|r| view! {
                        <tr
                            data-edge=format!("{} -> {}", r.src, r.dst)
                            data-protocol=r.protocol.clone()
                            data-bytes=r.bytes.to_string()
                            data-entries=r.entries.to_string()
                            data-errors=r.errors.to_string()
                            data-key=r.key.clone()
                            data-request-bytes=r.request_bytes.to_string()
                            data-response-bytes=r.response_bytes.to_string()
                            data-value=r.value.to_string()
                            data-shown=r.shown.clone()
                        >
                            <td>{r.src.clone()}</td>
                            <td>{r.dst.clone()}</td>
                            <td>{r.protocol.clone()}</td>
                            <td title=r.bytes.to_string()>{r.bytes_text.clone()}</td>
                            <td>{r.entries}</td>
                            <td>{r.errors}</td>
                            <td>{r.shown.clone()}</td>
                        </tr>
                    }).collect_view())}
                </tbody>
            </table>
            <p class:gone=move || t.with(|t| t.left_out == 0)>
                {move || t.with(|t| format!("{} more rows not listed", t.left_out))}
            </p>
        </section>
    }
}

#[component]
pub fn Details(ctx: Ctx) -> impl IntoView {
    view! {
        <section id="details" class="panel details" class:gone=move || ctx.selected.with(Option::is_none) aria-label="Details">
            {move || ctx.selected.get().map(|n| view! {
                <div class="panel-head">
                    <h2>{n.label.clone()}</h2>
                    <button class="close" aria-label="Close" on:click=move |_| ctx.selected.set(None)>"×"</button>
                </div>
                <dl>
                    <dt>"Name"</dt><dd>{n.label.clone()}
                        {add(ctx, format!("src.name == {}", quote(&n.label)))}" src "
                        {add(ctx, format!("dst.name == {}", quote(&n.label)))}" dst"
                    </dd>
                    <dt>"Kind"</dt><dd>{n.kind.clone()}</dd>
                    <dt>"Namespace"</dt><dd>{n.namespace.clone()}
                        {(!n.namespace.is_empty()).then(|| add(ctx, format!("(src.namespace == {0} || dst.namespace == {0})", quote(&n.namespace))))}
                    </dd>
                    <dt>"Node"</dt><dd>{n.node.clone()}
                        {(!n.node.is_empty()).then(|| add(ctx, format!("node_name == {}", quote(&n.node))))}
                    </dd>
                    <dt>"In"</dt><dd>{human_bytes(n.bytes_in as f64)}</dd>
                    <dt>"Out"</dt><dd>{human_bytes(n.bytes_out as f64)}</dd>
                    <dt>"In rate"</dt><dd>{human_rate(n.rate_in)}</dd>
                    <dt>"Out rate"</dt><dd>{human_rate(n.rate_out)}</dd>
                    <dt>"Entries"</dt><dd>{n.entries}</dd>
                    <dt>"Errors"</dt><dd>{n.errors}</dd>
                </dl>
            })}
        </section>
    }
}
