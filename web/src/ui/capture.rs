//! The capture-filters dialog: pod regex, namespaces, excluded namespaces,
//! sent to the relay. Cluster-wide: the dialog says so.

use leptos::prelude::*;
use wiremap_wire::CaptureFilter;

use super::app::send_capture_filter;
use super::Ctx;

fn split(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[component]
pub fn CaptureDialog(ctx: Ctx) -> impl IntoView {
    let regex = RwSignal::new(String::new());
    let namespaces = RwSignal::new(String::new());
    let excluded = RwSignal::new(String::new());
    let message = RwSignal::new(String::new());
    // Fill the form with the relay's current filter when opened.
    Effect::new(move |_| {
        if ctx.show_capture.get() {
            let current = ctx.with_session(|s| s.feed.capture_filter().cloned());
            if let Some(f) = current {
                regex.set(f.pod_regex);
                namespaces.set(f.namespaces.join(", "));
                excluded.set(f.exclude_namespaces.join(", "));
            }
            message.set(String::new());
        }
    });
    let apply = move |_| {
        let f = CaptureFilter {
            pod_regex: regex.get_untracked(),
            namespaces: split(&namespaces.get_untracked()),
            exclude_namespaces: split(&excluded.get_untracked()),
            revision: 0,
        };
        match send_capture_filter(ctx, f) {
            Ok(()) => message.set("Sent to the relay.".into()),
            Err(e) => message.set(format!("Not sent: {e}")),
        }
    };
    view! {
        <section id="capture" class="panel dialog" class:gone=move || !ctx.show_capture.get() role="dialog" aria-label="Capture filters">
            <div class="panel-head">
                <h2>"Capture filters"</h2>
                <button class="close" aria-label="Close" on:click=move |_| ctx.show_capture.set(false)>"×"</button>
            </div>
            <p class="warn">
                "Capture filters are cluster-wide: they change which pods every probe dissects, for every user. The L4 map is not affected."
            </p>
            <label class="field">"Pod regex"
                <input id="cap-regex" type="text" placeholder=".* (all pods)" prop:value=move || regex.get() on:input=move |ev| regex.set(event_target_value(&ev)) />
            </label>
            <label class="field">"Namespaces (empty: all)"
                <input id="cap-ns" type="text" placeholder="default, sock-shop" prop:value=move || namespaces.get() on:input=move |ev| namespaces.set(event_target_value(&ev)) />
            </label>
            <label class="field">"Excluded namespaces"
                <input id="cap-exclude" type="text" placeholder="kube-system" prop:value=move || excluded.get() on:input=move |ev| excluded.set(event_target_value(&ev)) />
            </label>
            <div class="row">
                <button id="cap-apply" class="primary" on:click=apply>"Apply to the cluster"</button>
                <span class="hint">{move || message.get()}</span>
            </div>
        </section>
    }
}
