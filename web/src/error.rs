//! The one error type of the web app.

use thiserror::Error;

/// What can go wrong in the browser shell.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum WebError {
    #[error("the browser API `{0}` is not available")]
    Missing(&'static str),
    #[error("browser call `{call}` failed: {reason}")]
    Js { call: &'static str, reason: String },
    #[error("WebGL2: {0}")]
    WebGl(String),
    #[error("could not decode a frame: {0}")]
    Decode(#[from] wiremap_wire::WireError),
}

impl WebError {
    /// Wraps a JavaScript exception thrown by `call`.
    pub fn js(call: &'static str, value: &wasm_bindgen::JsValue) -> Self {
        WebError::Js {
            call,
            reason: value.as_string().unwrap_or_else(|| format!("{value:?}")),
        }
    }
}
