//! The settings dialog: map type, metric, grouping and the toggles.

use leptos::prelude::*;

use super::Ctx;
use wiremap_model::{Grouping, Metric};

use crate::view_state::{grouping_title, metric_title, MapType, ViewState};

fn checkbox(
    ctx: Ctx,
    id: &'static str,
    label: &'static str,
    get: fn(&ViewState) -> bool,
    set: fn(&mut ViewState, bool),
) -> impl IntoView {
    view! {
        <label class="check">
            <input
                type="checkbox"
                id=id
                prop:checked=move || ctx.view.with(get)
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    ctx.view.update(|v| set(v, on));
                }
            />
            {label}
        </label>
    }
}

#[component]
pub fn Settings(ctx: Ctx) -> impl IntoView {
    let maps = MapType::ALL
        .into_iter()
        .map(|m| {
            view! {
                <button
                    class="seg"
                    data-map=m.code()
                    class:active=move || ctx.view.with(|v| v.map == m)
                    on:click=move |_| ctx.view.update(|v| v.map = m)
                >
                    {m.title()}
                </button>
            }
        })
        .collect_view();
    let metrics = [Metric::Bandwidth, Metric::Throughput]
        .into_iter()
        .map(|m| view! { <option value=m.name()>{metric_title(m)}</option> })
        .collect_view();
    let groupings = Grouping::ALL
        .into_iter()
        .map(|g| view! { <option value=g.name()>{grouping_title(g)}</option> })
        .collect_view();
    view! {
        <section
            id="settings"
            class="panel settings"
            class:open=move || ctx.show_settings.get()
            aria-label="Settings"
        >
            <div class="panel-head">
                <h2>"Settings"</h2>
                <button class="close" aria-label="Close" on:click=move |_| ctx.show_settings.set(false)>
                    "×"
                </button>
            </div>
            <div class="segmented">{maps}</div>
            <p class="hint" class:gone=move || ctx.view.with(|v| v.map == MapType::L7)>
                "The L4 map shows every flow the probes see; display and capture filters do not apply."
            </p>
            <label class="field">
                "Metric"
                <select
                    id="metric"
                    prop:value=move || ctx.view.with(|v| v.settings.metric.name())
                    on:change=move |ev| {
                        if let Some(m) = Metric::from_name(&event_target_value(&ev)) {
                            ctx.view.update(|v| v.settings.metric = m);
                        }
                    }
                >
                    {metrics}
                </select>
            </label>
            <label class="field">
                "Grouping"
                <select
                    id="grouping"
                    prop:value=move || ctx.view.with(|v| v.settings.grouping.name())
                    on:change=move |ev| {
                        if let Some(g) = Grouping::from_name(&event_target_value(&ev)) {
                            ctx.view.update(|v| v.settings.grouping = g);
                        }
                    }
                >
                    {groupings}
                </select>
            </label>
            {checkbox(ctx, "opt-bandwidth", "Show bandwidth", |v| v.show_bandwidth, |v, on| v.show_bandwidth = on)}
            {checkbox(ctx, "opt-cumulative", "Show cumulative bandwidth", |v| v.settings.cumulative, |v, on| v.settings.cumulative = on)}
            {checkbox(ctx, "opt-request", "Include request sizes", |v| v.settings.include_request, |v, on| v.settings.include_request = on)}
            {checkbox(ctx, "opt-response", "Include response sizes", |v| v.settings.include_response, |v, on| v.settings.include_response = on)}
            {checkbox(ctx, "opt-external", "One node for all external peers", |v| v.settings.collapse_external, |v, on| v.settings.collapse_external = on)}
        </section>
    }
}
