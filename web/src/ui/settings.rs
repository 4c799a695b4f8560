//! The settings dialog: map type, metric, grouping and the toggles.

use leptos::prelude::*;

use super::Ctx;
use crate::view_state::{Grouping, MapType, Metric, ViewState};

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
    let metrics = Metric::ALL
        .into_iter()
        .map(|m| view! { <option value=m.code()>{m.title()}</option> })
        .collect_view();
    let groupings = Grouping::ALL
        .into_iter()
        .map(|g| view! { <option value=g.code()>{g.title()}</option> })
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
                    prop:value=move || ctx.view.with(|v| v.metric.code())
                    on:change=move |ev| {
                        let code = event_target_value(&ev);
                        if let Some(m) = Metric::ALL.into_iter().find(|m| m.code() == code) {
                            ctx.view.update(|v| v.metric = m);
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
                    prop:value=move || ctx.view.with(|v| v.grouping.code())
                    on:change=move |ev| {
                        let code = event_target_value(&ev);
                        if let Some(g) = Grouping::ALL.into_iter().find(|g| g.code() == code) {
                            ctx.view.update(|v| v.grouping = g);
                        }
                    }
                >
                    {groupings}
                </select>
            </label>
            {checkbox(ctx, "opt-bandwidth", "Show bandwidth", |v| v.show_bandwidth, |v, on| v.show_bandwidth = on)}
            {checkbox(ctx, "opt-cumulative", "Show cumulative bandwidth", |v| v.cumulative, |v, on| v.cumulative = on)}
            {checkbox(ctx, "opt-request", "Include request sizes", |v| v.include_request, |v, on| v.include_request = on)}
            {checkbox(ctx, "opt-response", "Include response sizes", |v| v.include_response, |v, on| v.include_response = on)}
        </section>
    }
}
