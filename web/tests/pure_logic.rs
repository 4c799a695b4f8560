//! URL state, backoff, camera and geometry (units, rates and layout are
//! the model's, tested natively there).

use wasm_bindgen_test::*;
use wiremap_model::{Grouping, Metric, ViewSettings};
use wiremap_web::backoff::{Backoff, BACKOFF_MAX_MS, BACKOFF_MIN_MS};
use wiremap_web::camera::{best_area, Camera};
use wiremap_web::geometry::{bends, bounds, curve, pick, Point};
use wiremap_web::query;
use wiremap_web::relay_url::relay_ws_url;
use wiremap_web::view_state::{LegendKind, MapType, Renderer, ViewState};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn relay_url_is_same_origin_unless_overridden() {
    assert_eq!(relay_ws_url("http:", "h:8080", None), "ws://h:8080/ws");
    assert_eq!(
        relay_ws_url("https:", "example.org", None),
        "wss://example.org/ws"
    );
    assert_eq!(relay_ws_url("http:", "h", Some("")), "ws://h/ws");
    assert_eq!(
        relay_ws_url("http:", "h", Some("127.0.0.1:9000")),
        "ws://127.0.0.1:9000/ws"
    );
    assert_eq!(
        relay_ws_url("http:", "h", Some("https://r.example")),
        "wss://r.example/ws"
    );
    assert_eq!(
        relay_ws_url("http:", "h", Some("ws://r:1/custom")),
        "ws://r:1/custom"
    );
}

#[wasm_bindgen_test]
fn backoff_doubles_up_to_the_cap_and_resets() {
    let mut b = Backoff::default();
    let delays: Vec<u32> = (0..10).map(|_| b.next_delay_ms()).collect();
    assert_eq!(delays[0], BACKOFF_MIN_MS);
    assert_eq!(delays[1], 2 * BACKOFF_MIN_MS);
    assert!(delays.windows(2).all(|w| w[1] >= w[0]));
    assert_eq!(*delays.last().unwrap_or(&0), BACKOFF_MAX_MS);
    for _ in 0..100 {
        assert!(b.next_delay_ms() <= BACKOFF_MAX_MS);
    }
    b.reset();
    assert_eq!(b.next_delay_ms(), BACKOFF_MIN_MS);
}

#[wasm_bindgen_test]
fn view_state_round_trips_through_the_url() {
    let mut v = ViewState {
        map: MapType::L4,
        settings: ViewSettings {
            metric: Metric::Throughput,
            grouping: Grouping::Namespace,
            cumulative: true,
            include_request: false,
            collapse_external: true,
            ..ViewSettings::default()
        },
        filter: "http && response.status == 500 & x".into(),
        embed: true,
        relay: Some("ws://127.0.0.1:1/ws".into()),
        ..ViewState::default()
    };
    v.toggle_hidden(LegendKind::Namespace, "kube-system");
    v.toggle_hidden(LegendKind::Protocol, "HTTP/2");
    v.toggle_hidden(LegendKind::Node, "node-b");
    let q = v.to_query();
    assert_eq!(ViewState::from_query(&q), v);
    assert_eq!(ViewState::from_query(&format!("?{q}")), v);
    // "Hide all" then show one again: items that appear later stay hidden.
    let mut h = ViewState::default();
    h.hide_all();
    h.toggle_hidden(LegendKind::Namespace, "shop");
    let back = ViewState::from_query(&h.to_query());
    assert_eq!(back, h);
    assert!(back.is_hidden(LegendKind::Namespace, "later"));
    assert!(!back.is_hidden(LegendKind::Namespace, "shop"));
    assert_eq!(ViewState::default().to_query(), "");
    // Garbage keeps defaults.
    let g = ViewState::from_query("?map=l9&group=%ZZ&&=&bw");
    assert_eq!(g.map, MapType::L7);
    assert!(!g.show_bandwidth);
}

#[wasm_bindgen_test]
fn renderer_choice_round_trips_through_the_url() {
    for r in Renderer::ALL {
        let v = ViewState {
            renderer: Some(r),
            ..ViewState::default()
        };
        let q = v.to_query();
        assert_eq!(q, format!("renderer={}", r.code()));
        assert_eq!(ViewState::from_query(&q), v);
        assert_eq!(ViewState::from_query(&q).renderer(), r);
    }
    assert_eq!(
        ViewState::from_query("?renderer=2d").renderer(),
        Renderer::Canvas2d
    );
    assert_eq!(
        ViewState::from_query("?renderer=gl").renderer(),
        Renderer::WebGl2
    );
    // Unknown or absent: the default, and nothing in the URL.
    let v = ViewState::from_query("?renderer=vulkan");
    assert_eq!(v.renderer, None);
    assert_eq!(v.renderer(), Renderer::DEFAULT);
    assert_eq!(v.to_query(), "");
}

#[wasm_bindgen_test]
fn query_decoding_survives_bad_escapes() {
    assert_eq!(query::decode("a%2"), "a%2");
    assert_eq!(query::decode("%e2%82%ac+x"), "€ x");
    assert_eq!(query::decode("%ff"), "\u{fffd}");
    assert_eq!(query::decode(&query::encode("a&b=c d/é")), "a&b=c d/é");
}

#[wasm_bindgen_test]
fn camera_round_trips_and_zooms_around_the_pointer() {
    let mut c = Camera::default();
    c.pan(30.0, -10.0);
    let p = Point { x: 12.0, y: -7.0 };
    let s = c.to_screen(p, 800.0, 600.0);
    let back = c.to_world(s, 800.0, 600.0);
    assert!((back.x - p.x).abs() < 1e-9 && (back.y - p.y).abs() < 1e-9);
    let at = Point { x: 100.0, y: 50.0 };
    let before = c.to_world(at, 800.0, 600.0);
    c.zoom_at(2.0, at, 800.0, 600.0);
    let after = c.to_world(at, 800.0, 600.0);
    assert!((before.x - after.x).abs() < 1e-9 && (before.y - after.y).abs() < 1e-9);
    assert_eq!(c.scale, 2.0);
    let pts = [Point { x: -500.0, y: 0.0 }, Point { x: 500.0, y: 300.0 }];
    let (lo, hi) = bounds(&pts).expect("non-empty");
    c.fit(lo, hi, 800.0, 600.0, 50.0);
    for p in pts {
        let s = c.to_screen(p, 800.0, 600.0);
        assert!(
            s.x >= 49.0 && s.x <= 751.0 && s.y >= 49.0 && s.y <= 551.0,
            "{s:?}"
        );
    }
}

/// A fitted map goes beside a panel over the canvas (the legend): in the
/// strip where it shows largest, nothing of it under the panel; with no
/// panel over the canvas, as a plain fit.
#[wasm_bindgen_test]
fn a_fitted_map_goes_beside_the_legend() {
    let p = |x: f64, y: f64| Point { x, y };
    let (w, h, margin) = (1280.0, 550.0, 70.0);
    // The legend at the bottom left, as the app shows it.
    let legend = (p(4.0, 392.0), p(580.0, 560.0));
    let inside = |c: &Camera, q: Point| {
        let s = c.to_screen(q, w, h);
        let under =
            s.x >= legend.0.x && s.x <= legend.1.x && s.y >= legend.0.y && s.y <= legend.1.y;
        let on = s.x >= -1e-9 && s.x <= w + 1e-9 && s.y >= -1e-9 && s.y <= h + 1e-9;
        on && !under
    };
    let corners = |(lo, hi): (Point, Point)| [lo, hi, p(lo.x, hi.y), p(hi.x, lo.y)];
    // A squarish map: the strip right of the legend shows it largest.
    let square = (p(-250.0, -220.0), p(250.0, 230.0));
    assert_eq!(
        best_area(square, w, h, Some(legend), margin),
        (p(580.0, 0.0), p(w, h))
    );
    let mut c = Camera::default();
    c.fit_beside(square, w, h, Some(legend), margin);
    for q in corners(square) {
        assert!(inside(&c, q), "{q:?} at {:?}", c.to_screen(q, w, h));
    }
    // A wide, flat map: the strip above it.
    let wide = (p(-1000.0, -100.0), p(1000.0, 100.0));
    assert_eq!(
        best_area(wide, w, h, Some(legend), margin),
        (p(0.0, 0.0), p(w, 392.0))
    );
    c.fit_beside(wide, w, h, Some(legend), margin);
    for q in corners(wide) {
        assert!(inside(&c, q), "{q:?} at {:?}", c.to_screen(q, w, h));
    }
    // No panel, one off the canvas, or an empty one: a plain fit.
    let mut plain = Camera::default();
    plain.fit(square.0, square.1, w, h, margin);
    let off = (p(2000.0, 0.0), p(2400.0, 100.0));
    let empty = (p(10.0, 10.0), p(10.0, 300.0));
    for cover in [None, Some(off), Some(empty)] {
        c.fit_beside(square, w, h, cover, margin);
        assert_eq!(c, plain, "{cover:?}");
    }
}

/// Parallel edges (one per protocol between the same two nodes) fan out
/// far enough for their labels, at their middles, not to overlap: more
/// than a label's height (about 14 px) apart on a 200 px edge.
#[wasm_bindgen_test]
fn parallel_edges_fan_out_room_for_their_labels() {
    use wiremap_model::MapEdge;
    let edges: Vec<MapEdge> = ["http", "http2", "grpc"]
        .iter()
        .map(|p| MapEdge::new(format!("a->b {p}"), 0, 1))
        .chain([MapEdge::new("b->a".into(), 1, 0)])
        .collect();
    let b = bends(&edges);
    assert_eq!(
        b[0], b[3],
        "a lone edge and the first of several bend alike"
    );
    let (a, z) = (Point { x: 0.0, y: 0.0 }, Point { x: 200.0, y: 0.0 });
    let mids: Vec<Point> = b[..3]
        .iter()
        .map(|&k| curve(a, z, 10.0, 10.0, k).mid)
        .collect();
    for pair in mids.windows(2) {
        let d = ((pair[0].x - pair[1].x).powi(2) + (pair[0].y - pair[1].y).powi(2)).sqrt();
        assert!(d > 16.0, "labels {d} px apart: {mids:?}");
    }
}

#[wasm_bindgen_test]
fn opposite_directions_bend_apart_and_pick_finds_nodes() {
    let a = Point { x: 0.0, y: 0.0 };
    let b = Point { x: 100.0, y: 0.0 };
    let ab = curve(a, b, 10.0, 10.0, 0.15);
    let ba = curve(b, a, 10.0, 10.0, 0.15);
    assert!(ab.ctrl.y * ba.ctrl.y < 0.0, "{ab:?} {ba:?}");
    // The curve ends on the rim of b, pointing into it.
    let d = ((ab.end.x - b.x).powi(2) + (ab.end.y - b.y).powi(2)).sqrt();
    assert!((d - 10.0).abs() < 1e-9);
    assert!(ab.dir.x > 0.0);
    let pos = [a, b];
    assert_eq!(
        pick(&pos, &[10.0, 10.0], Point { x: 95.0, y: 3.0 }, 0.0),
        Some(1)
    );
    assert_eq!(
        pick(&pos, &[10.0, 10.0], Point { x: 50.0, y: 0.0 }, 0.0),
        None
    );
}
