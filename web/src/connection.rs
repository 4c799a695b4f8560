//! The WebSocket to the relay: binary frames in, capture filters out,
//! reconnect with [`Backoff`]. The only file that touches `WebSocket`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use crate::backoff::Backoff;
use crate::error::WebError;

/// What the connection reports to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnEvent {
    Connecting,
    Open,
    Message(Vec<u8>),
    /// Closed; the next attempt is in `retry_ms`.
    Closed {
        retry_ms: u32,
        reason: String,
    },
}

type Handler = Rc<dyn Fn(ConnEvent)>;

struct Inner {
    url: String,
    ws: Option<WebSocket>,
    backoff: Backoff,
    handler: Handler,
    on_open: Option<Closure<dyn FnMut(Event)>>,
    on_message: Option<Closure<dyn FnMut(MessageEvent)>>,
    on_close: Option<Closure<dyn FnMut(CloseEvent)>>,
    retry: Option<Closure<dyn FnMut()>>,
}

/// A self-reconnecting relay connection.
#[derive(Clone)]
pub struct Connection {
    inner: Rc<RefCell<Inner>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.inner.borrow().url)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to `url` and keeps reconnecting; events go to `handler`.
    pub fn start(url: String, handler: impl Fn(ConnEvent) + 'static) -> Connection {
        let inner = Rc::new(RefCell::new(Inner {
            url,
            ws: None,
            backoff: Backoff::default(),
            handler: Rc::new(handler),
            on_open: None,
            on_message: None,
            on_close: None,
            retry: None,
        }));
        open(&inner);
        Connection { inner }
    }

    /// Sends one binary frame; fails when not connected.
    pub fn send(&self, bytes: &[u8]) -> Result<(), WebError> {
        let inner = self.inner.borrow();
        let ws = inner
            .ws
            .as_ref()
            .ok_or(WebError::Missing("open WebSocket"))?;
        if ws.ready_state() != WebSocket::OPEN {
            return Err(WebError::Missing("open WebSocket"));
        }
        ws.send_with_u8_array(bytes)
            .map_err(|e| WebError::js("WebSocket.send", &e))
    }
}

fn open(inner: &Rc<RefCell<Inner>>) {
    let handler = inner.borrow().handler.clone();
    handler(ConnEvent::Connecting);
    let url = inner.borrow().url.clone();
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(e) => {
            schedule_retry(inner, WebError::js("new WebSocket", &e).to_string());
            return;
        }
    };
    ws.set_binary_type(BinaryType::Arraybuffer);

    let weak = Rc::downgrade(inner);
    let on_open = Closure::<dyn FnMut(Event)>::new(move |_| {
        if let Some(inner) = weak.upgrade() {
            inner.borrow_mut().backoff.reset();
            let h = inner.borrow().handler.clone();
            h(ConnEvent::Open);
        }
    });
    let h = handler.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let data = e.data();
        if data.is_instance_of::<js_sys::ArrayBuffer>() {
            h(ConnEvent::Message(js_sys::Uint8Array::new(&data).to_vec()));
        }
    });
    let weak = Rc::downgrade(inner);
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
        if let Some(inner) = weak.upgrade() {
            let reason = if e.reason().is_empty() {
                format!("closed (code {})", e.code())
            } else {
                e.reason()
            };
            schedule_retry(&inner, reason);
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let mut i = inner.borrow_mut();
    if let Some(old) = i.ws.take() {
        detach(&old);
    }
    i.ws = Some(ws);
    i.on_open = Some(on_open);
    i.on_message = Some(on_message);
    i.on_close = Some(on_close);
}

fn detach(ws: &WebSocket) {
    ws.set_onopen(None);
    ws.set_onmessage(None);
    ws.set_onclose(None);
}

fn schedule_retry(inner: &Rc<RefCell<Inner>>, reason: String) {
    let delay = inner.borrow_mut().backoff.next_delay_ms();
    let handler = inner.borrow().handler.clone();
    handler(ConnEvent::Closed {
        retry_ms: delay,
        reason,
    });
    let weak = Rc::downgrade(inner);
    let retry = Closure::<dyn FnMut()>::new(move || {
        if let Some(inner) = weak.upgrade() {
            open(&inner);
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
            retry.as_ref().unchecked_ref(),
            i32::try_from(delay).unwrap_or(i32::MAX),
        );
    }
    inner.borrow_mut().retry = Some(retry);
}
