//! Export of the map: JSON of the graph (pure) and the browser download
//! of it or of the canvas as PNG (shell).

use serde::Serialize;
use wasm_bindgen::JsCast;

use crate::error::WebError;
use crate::graph::GraphView;

#[derive(Serialize)]
struct JsonNode<'a> {
    label: &'a str,
    kind: &'a str,
    namespace: &'a str,
    node: &'a str,
    bytes_in: u64,
    bytes_out: u64,
    entries: u64,
    errors: u64,
}

#[derive(Serialize)]
struct JsonEdge<'a> {
    src: &'a str,
    dst: &'a str,
    protocol: &'a str,
    bytes: u64,
    request_bytes: u64,
    response_bytes: u64,
    entries: u64,
    packets: u64,
    errors: u64,
    total: f64,
    rate: f64,
}

#[derive(Serialize)]
struct JsonGraph<'a> {
    map: &'a str,
    nodes: Vec<JsonNode<'a>>,
    edges: Vec<JsonEdge<'a>>,
}

/// The graph as pretty JSON (`{"map", "nodes", "edges"}`).
pub fn graph_json(g: &GraphView) -> String {
    let name = |i: usize| g.nodes.get(i).map(|n| n.label.as_str()).unwrap_or("");
    let doc = JsonGraph {
        map: g.map.map(|m| m.code()).unwrap_or(""),
        nodes: g
            .nodes
            .iter()
            .map(|n| JsonNode {
                label: &n.label,
                kind: &n.kind,
                namespace: &n.namespace,
                node: &n.node,
                bytes_in: n.bytes_in,
                bytes_out: n.bytes_out,
                entries: n.entries,
                errors: n.errors,
            })
            .collect(),
        edges: g
            .edges
            .iter()
            .map(|e| JsonEdge {
                src: name(e.src),
                dst: name(e.dst),
                protocol: e.protocol.name(),
                bytes: e.bytes,
                request_bytes: e.request_bytes,
                response_bytes: e.response_bytes,
                entries: e.entries,
                packets: e.packets,
                errors: e.errors,
                total: e.total,
                rate: e.rate,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Makes the browser download `href` as `filename`.
pub fn download_url(href: &str, filename: &str) -> Result<(), WebError> {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or(WebError::Missing("document"))?;
    let a: web_sys::HtmlAnchorElement = doc
        .create_element("a")
        .map_err(|e| WebError::js("createElement", &e))?
        .dyn_into()
        .map_err(|_| WebError::Missing("HTMLAnchorElement"))?;
    a.set_href(href);
    a.set_download(filename);
    a.click();
    Ok(())
}

/// Downloads `text` as a file of type `mime`.
pub fn download_text(text: &str, mime: &str, filename: &str) -> Result<(), WebError> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)
        .map_err(|e| WebError::js("new Blob", &e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| WebError::js("URL.createObjectURL", &e))?;
    let r = download_url(&url, filename);
    let _ = web_sys::Url::revoke_object_url(&url);
    r
}

/// Downloads the canvas as PNG.
pub fn download_png(canvas: &web_sys::HtmlCanvasElement, filename: &str) -> Result<(), WebError> {
    let url = canvas
        .to_data_url_with_type("image/png")
        .map_err(|e| WebError::js("toDataURL", &e))?;
    download_url(&url, filename)
}
