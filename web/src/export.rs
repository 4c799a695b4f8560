//! Export of the map: JSON of the graph (pure) and the browser download
//! of it or of the canvas as PNG (shell).

use serde::Serialize;
use wasm_bindgen::JsCast;

use wiremap_model::MapGraph;

use crate::error::WebError;

#[derive(Serialize)]
struct JsonNode<'a> {
    key: &'a str,
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
    bytes_rate: f64,
    throughput: f64,
    value: f64,
    latency_p50_us: Option<u64>,
    latency_p95_us: Option<u64>,
    latency_p99_us: Option<u64>,
}

#[derive(Serialize)]
struct JsonGraph<'a> {
    map: &'a str,
    nodes: Vec<JsonNode<'a>>,
    edges: Vec<JsonEdge<'a>>,
}

/// The graph as pretty JSON (`{"map", "nodes", "edges"}`); `map` is "l4"
/// or "l7".
pub fn graph_json(g: &MapGraph, map: &str) -> String {
    let name = |i: usize| g.nodes.get(i).map(|n| n.label.as_str()).unwrap_or("");
    let doc = JsonGraph {
        map,
        nodes: g
            .nodes
            .iter()
            .map(|n| JsonNode {
                key: &n.key,
                label: &n.label,
                kind: n.kind.name(),
                namespace: &n.namespace,
                node: &n.node_name,
                bytes_in: n.in_bytes,
                bytes_out: n.out_bytes,
                entries: n.entries,
                errors: n.errors,
            })
            .collect(),
        edges: g
            .edges
            .iter()
            .map(|e| JsonEdge {
                src: name(e.source),
                dst: name(e.target),
                protocol: e.protocol.map_or("L4", |p| p.name()),
                bytes: e.bytes,
                request_bytes: e.request_bytes,
                response_bytes: e.response_bytes,
                entries: e.entries,
                packets: e.packets_to_server.saturating_add(e.packets_to_client),
                errors: e.errors,
                bytes_rate: e.bytes_rate,
                throughput: e.throughput,
                value: e.value,
                latency_p50_us: e.latency.map(|l| l.p50_us),
                latency_p95_us: e.latency.map(|l| l.p95_us),
                latency_p99_us: e.latency.map(|l| l.p99_us),
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

/// Downloads the canvases, drawn one over the other (the first at the
/// bottom, all the size of the first), as one PNG.
pub fn download_png(layers: &[web_sys::HtmlCanvasElement], filename: &str) -> Result<(), WebError> {
    let [first, rest @ ..] = layers else {
        return Err(WebError::Missing("canvas"));
    };
    let url = if rest.is_empty() {
        first.to_data_url_with_type("image/png")
    } else {
        let doc = web_sys::window()
            .and_then(|w| w.document())
            .ok_or(WebError::Missing("document"))?;
        let out: web_sys::HtmlCanvasElement = doc
            .create_element("canvas")
            .map_err(|e| WebError::js("createElement", &e))?
            .dyn_into()
            .map_err(|_| WebError::Missing("HTMLCanvasElement"))?;
        out.set_width(first.width());
        out.set_height(first.height());
        let ctx: web_sys::CanvasRenderingContext2d = out
            .get_context("2d")
            .map_err(|e| WebError::js("getContext", &e))?
            .ok_or(WebError::Missing("CanvasRenderingContext2D"))?
            .dyn_into()
            .map_err(|_| WebError::Missing("CanvasRenderingContext2D"))?;
        for layer in layers {
            ctx.draw_image_with_html_canvas_element(layer, 0.0, 0.0)
                .map_err(|e| WebError::js("drawImage", &e))?;
        }
        out.to_data_url_with_type("image/png")
    }
    .map_err(|e| WebError::js("toDataURL", &e))?;
    download_url(&url, filename)
}
