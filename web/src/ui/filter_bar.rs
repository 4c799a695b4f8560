//! The KFL2 display-filter bar: checked as you type (error and caret shown),
//! variables completed from the schema with type and doc, Enter applies,
//! Up/Down walk the history. Applies to the L7 map only.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{wall_us, Ctx};
use crate::filter_edit::{
    apply_completion, byte_to_utf16, check, complete, utf16_to_byte, word_at, Check, History,
};
use crate::view_state::MapType;

#[component]
pub fn FilterBar(ctx: Ctx) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let text = RwSignal::new(ctx.view.get_untracked().filter);
    let cursor = RwSignal::new(0usize);
    let active = RwSignal::new(0usize);
    let open = RwSignal::new(false);
    let history = StoredValue::new(History::default());
    let back = RwSignal::new(None::<usize>);
    let verdict = Memo::new(move |_| check(&text.get(), wall_us()));
    let suggestions = Memo::new(move |_| {
        let t = text.get();
        complete(word_at(&t, cursor.get()).1)
    });
    // The applied filter can change elsewhere (click-to-add, the URL).
    Effect::new(move |_| {
        let f = ctx.view.with(|v| v.filter.clone());
        if text.get_untracked() != f {
            text.set(f);
        }
    });

    let sync_cursor = move || {
        if let Some(el) = input.get_untracked() {
            let t = el.value();
            let pos = el.selection_start().ok().flatten().unwrap_or(0) as usize;
            cursor.set(utf16_to_byte(&t, pos));
        }
    };
    let accept = move |i: usize| {
        let Some(v) = suggestions.get_untracked().get(i).copied() else {
            return;
        };
        let (t, c) = apply_completion(&text.get_untracked(), cursor.get_untracked(), v.name);
        text.set(t.clone());
        cursor.set(c);
        open.set(false);
        if let Some(el) = input.get_untracked() {
            el.set_value(&t);
            let u = byte_to_utf16(&t, c) as u32;
            let _ = el.set_selection_range(u, u);
            let _ = el.focus();
        }
    };
    let apply = move || {
        let t = text.get_untracked();
        if matches!(verdict.get_untracked(), Check::Invalid { .. }) {
            return;
        }
        history.update_value(|h| h.push(&t));
        back.set(None);
        open.set(false);
        ctx.view.update(|v| v.filter = t.trim().to_string());
    };
    let keydown = move |e: web_sys::KeyboardEvent| {
        let n = suggestions.with_untracked(Vec::len);
        let showing = open.get_untracked() && n > 0;
        match e.key().as_str() {
            "Enter" => {
                e.prevent_default();
                if showing {
                    accept(active.get_untracked());
                } else {
                    apply();
                }
            }
            "Tab" if showing => {
                e.prevent_default();
                accept(active.get_untracked());
            }
            "Escape" => open.set(false),
            "ArrowDown" if showing => {
                e.prevent_default();
                active.update(|a| *a = (*a + 1) % n);
            }
            "ArrowUp" if showing => {
                e.prevent_default();
                active.update(|a| *a = (*a + n - 1) % n);
            }
            "ArrowUp" | "ArrowDown" => {
                e.prevent_default();
                let len = history.with_value(History::len);
                if len == 0 {
                    return;
                }
                let next = match (back.get_untracked(), e.key().as_str()) {
                    (None, "ArrowUp") => Some(0),
                    (Some(b), "ArrowUp") => Some((b + 1).min(len - 1)),
                    (Some(0), _) | (None, _) => None,
                    (Some(b), _) => Some(b - 1),
                };
                back.set(next);
                let t = next
                    .and_then(|b| history.with_value(|h| h.get(b).map(str::to_string)))
                    .unwrap_or_default();
                text.set(t.clone());
                if let Some(el) = input.get_untracked() {
                    el.set_value(&t);
                }
            }
            _ => {}
        }
    };
    let on_input = move |e: web_sys::Event| {
        if let Some(el) = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            text.set(el.value());
        }
        sync_cursor();
        active.set(0);
        open.set(true);
    };
    let state_class = move || match verdict.get() {
        Check::Empty => "kfl-input",
        Check::Valid => "kfl-input ok",
        Check::Invalid { .. } => "kfl-input bad",
    };
    let error = move || match verdict.get() {
        Check::Invalid {
            message,
            line,
            carets,
        } => Some(
            view! { <pre id="kfl-error" class="kfl-error">{format!("{message}\n{line}\n{carets}")}</pre> },
        ),
        _ => None,
    };
    let l4 = move || ctx.view.with(|v| v.map == MapType::L4);
    view! {
        <div class="filterbar" class:gone=move || ctx.view.with(|v| v.embed)>
            <div class="kfl-wrap">
                <input
                    id="kfl"
                    node_ref=input
                    class=state_class
                    type="text"
                    spellcheck="false"
                    autocomplete="off"
                    placeholder="KFL2 display filter, e.g. http && response_body_size > 2300 && status_code == 200"
                    aria-label="KFL2 display filter"
                    prop:value=move || text.get()
                    on:input=on_input
                    on:keydown=keydown
                    on:click=move |_| sync_cursor()
                    on:keyup=move |e: web_sys::KeyboardEvent| {
                        if e.key().starts_with("Arrow") && !open.get_untracked() {
                            sync_cursor();
                        }
                    }
                    on:blur=move |_| open.set(false)
                />
                {error}
                <ul id="kfl-suggest" class="kfl-suggest" class:gone=move || !open.get() || suggestions.with(Vec::is_empty) role="listbox">
                    {move || suggestions.get().into_iter().enumerate().map(|(i, v)| view! {
                        <li
                            role="option"
                            data-var=v.name
                            class:active=move || active.get() == i
                            on:mousedown=move |e: web_sys::MouseEvent| { e.prevent_default(); accept(i); }
                        >
                            <span class="name">{v.name}</span>
                            <span class="type">{v.ty}</span>
                            <span class="doc">{v.doc}</span>
                        </li>
                    }).collect_view()}
                </ul>
            </div>
            <button id="kfl-apply" on:click=move |_| apply()>"Apply"</button>
            <button id="kfl-clear" on:click=move |_| { text.set(String::new()); ctx.view.update(|v| v.filter.clear()); }>"Clear"</button>
            <span class="hint" class:gone=move || !l4()>"The L4 map ignores display filters."</span>
            <span class="hint" class:gone=move || ctx.view.with(|v| v.filter.is_empty()) || l4()>
                {move || ctx.status.with(|s| format!("{} of {} stored entries match", s.matched, s.stored))}
            </span>
        </div>
    }
}
