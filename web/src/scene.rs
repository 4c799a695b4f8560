//! What one frame draws, as plain numbers in screen space: which edges and
//! nodes are on screen (culling), the level of detail (arrowheads, curves
//! or straight segments, labels), each edge's shape, colour index and
//! bucketed width, and the style groups the Canvas 2D renderer sets once.
//! Pure, so it is testable without a canvas; both renderers (`render` for
//! Canvas 2D, `render_gl` for WebGL2) paint from the same [`Scene`], which
//! is why they look the same.

use wiremap_model::MapGraph;

use crate::camera::Camera;
use crate::geometry::{bends, curve, radii, width, Point, ARROW_LEN, BEND};
use crate::palette::{edge_colour_index, namespace_colour_index};
use crate::view_state::ViewState;

/// At most this many edges are drawn (the scale the map is built for):
/// in a bigger map, the heaviest (by the metric's value), and the map
/// says so ([`Scene::budget`]). The table lists every edge.
pub const EDGE_BUDGET: usize = 50_000;
/// Edge labels are drawn only below this many edges …
pub const EDGE_LABEL_MAX_EDGES: usize = 4_000;
/// … and at or above this zoom.
pub const EDGE_LABEL_MIN_SCALE: f64 = 0.45;
/// Node labels need this zoom when there are many nodes.
pub const NODE_LABEL_MIN_SCALE: f64 = 0.35;
/// Below this many nodes, labels are always drawn.
pub const NODE_LABEL_ALWAYS: usize = 150;
/// At most this many node labels (the busiest visible nodes) …
pub const NODE_LABEL_MAX_VISIBLE: usize = 300;
/// … and edge labels (the largest values) per frame.
pub const EDGE_LABEL_MAX_VISIBLE: usize = 300;
/// Edges are curved at or above this zoom, straight below.
pub const CURVE_MIN_SCALE: f64 = 0.3;
/// Arrowheads are drawn at or above this zoom …
pub const ARROW_MIN_SCALE: f64 = 0.3;
/// … on edges at least this long on screen (start to end, CSS px).
pub const ARROW_MIN_EDGE_PX: f64 = 2.0 * ARROW_LEN;
/// An edge whose curve departs from its chord by less than this (CSS px)
/// is drawn as a straight segment.
pub const STRAIGHT_MAX_BULGE_PX: f64 = 1.0;
/// Stroke widths are rounded to 1 / this many CSS px, so edges of close
/// widths share one batch.
pub const WIDTH_STEPS: f64 = 4.0;
/// Outline of a node, and of the selected node (CSS px).
pub const NODE_OUTLINE: f64 = 1.2;
pub const SELECTED_OUTLINE: f64 = 3.0;
/// Smallest on-screen node radius (CSS px).
pub const MIN_SCREEN_RADIUS: f64 = 2.0;

/// Colours of the page theme.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub background: &'static str,
    pub text: &'static str,
    pub halo: &'static str,
    pub node_stroke: &'static str,
}

pub const LIGHT: Theme = Theme {
    background: "#ffffff",
    text: "#1d2433",
    halo: "rgba(255,255,255,0.85)",
    node_stroke: "#2b2f38",
};
pub const DARK: Theme = Theme {
    background: "#12151c",
    text: "#e3e7ef",
    halo: "rgba(18,21,28,0.85)",
    node_stroke: "#d0d5de",
};

/// Everything one frame needs.
#[derive(Debug)]
pub struct Frame<'a> {
    pub graph: &'a MapGraph,
    pub positions: &'a [Point],
    pub camera: &'a Camera,
    pub view: &'a ViewState,
    /// Canvas size in CSS pixels and the device pixel ratio.
    pub width: f64,
    pub height: f64,
    pub dpr: f64,
    pub theme: Theme,
    pub selected: Option<usize>,
}

/// Level of detail of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lod {
    /// Arrowheads (still only on edges at least [`ARROW_MIN_EDGE_PX`] long).
    pub arrows: bool,
    /// Edge rate labels.
    pub edge_labels: bool,
    /// Node names.
    pub node_labels: bool,
    /// Curved edges (else every edge is a straight segment).
    pub curves: bool,
}

/// The level of detail for a graph of `nodes` and `edges` at zoom `scale`.
pub fn lod(nodes: usize, edges: usize, scale: f64, show_bandwidth: bool) -> Lod {
    Lod {
        arrows: scale >= ARROW_MIN_SCALE,
        edge_labels: show_bandwidth
            && edges <= EDGE_LABEL_MAX_EDGES
            && scale >= EDGE_LABEL_MIN_SCALE,
        node_labels: nodes <= NODE_LABEL_ALWAYS || scale >= NODE_LABEL_MIN_SCALE,
        curves: scale >= CURVE_MIN_SCALE,
    }
}

/// Estimated width of a character of a node label (13 px) and of an edge
/// label (bold 12 px), and the labels' heights (CSS px): the boxes that
/// [`declutter`] keeps apart (text is measured only when painted).
pub const NODE_LABEL_CHAR_PX: f64 = 7.0;
pub const NODE_LABEL_HEIGHT_PX: f64 = 16.0;
pub const EDGE_LABEL_CHAR_PX: f64 = 7.2;
pub const EDGE_LABEL_HEIGHT_PX: f64 = 14.0;
/// Cell size of the grid that finds a box's neighbours (CSS px).
const LABEL_CELL_PX: f64 = 64.0;

/// The estimated box (x0, y0, x1, y1) of a node label top-centred at `at`.
pub fn node_label_box(at: Point, text: &str) -> [f64; 4] {
    let half = text.chars().count() as f64 * NODE_LABEL_CHAR_PX / 2.0;
    [at.x - half, at.y, at.x + half, at.y + NODE_LABEL_HEIGHT_PX]
}

/// The estimated box of an edge label centred at `at`.
pub fn edge_label_box(at: Point, text: &str) -> [f64; 4] {
    let half = text.chars().count() as f64 * EDGE_LABEL_CHAR_PX / 2.0;
    let h = EDGE_LABEL_HEIGHT_PX / 2.0;
    [at.x - half, at.y - h, at.x + half, at.y + h]
}

/// Two boxes share more than an edge.
pub fn boxes_overlap(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// Label boxes placed so far, in a grid of [`LABEL_CELL_PX`] cells.
#[derive(Default)]
struct LabelBoxes {
    boxes: Vec<[f64; 4]>,
    cells: std::collections::HashMap<(i32, i32), Vec<u32>>,
}

impl LabelBoxes {
    fn cells_of(b: &[f64; 4]) -> impl Iterator<Item = (i32, i32)> {
        let cell = |v: f64| (v / LABEL_CELL_PX).floor().clamp(-1e6, 1e6) as i32;
        let (x0, x1, y0, y1) = (cell(b[0]), cell(b[2]), cell(b[1]), cell(b[3]));
        (x0..=x1).flat_map(move |x| (y0..=y1).map(move |y| (x, y)))
    }

    /// Places `b` (x0, y0, x1, y1) if it overlaps no placed box.
    fn place(&mut self, b: [f64; 4]) -> bool {
        let overlaps = |o: &[f64; 4]| boxes_overlap(&b, o);
        let taken = Self::cells_of(&b).any(|c| {
            self.cells.get(&c).is_some_and(|ids| {
                ids.iter()
                    .any(|&k| self.boxes.get(k as usize).is_some_and(overlaps))
            })
        });
        if taken {
            return false;
        }
        let id = self.boxes.len() as u32;
        self.boxes.push(b);
        for c in Self::cells_of(&b) {
            self.cells.entry(c).or_default().push(id);
        }
        true
    }
}

/// Labels move aside rather than overlap: node labels first (larger
/// nodes first) below their node, else above it; then edge labels
/// (larger values first) at the edge's middle, else a line above or
/// below it. A label with no free place is left out (the table and the
/// tooltips have every figure): overlapping text is read by nobody.
/// `r`: the nodes' radii on screen.
fn declutter(scene: &mut Scene, f: &Frame<'_>, r: &[f64]) {
    let g = f.graph;
    let mut placed = LabelBoxes::default();
    let mut nodes = std::mem::take(&mut scene.node_labels);
    sort_by_weight(&mut nodes, |i| r.get(i).copied().unwrap_or(0.0));
    nodes.retain_mut(|l| {
        let Some(n) = g.nodes.get(l.index) else {
            return false;
        };
        let rad = r.get(l.index).copied().unwrap_or(0.0);
        // Below the node (the anchor), or above it.
        let above = l.at.y - 2.0 * (rad + 4.0) - NODE_LABEL_HEIGHT_PX;
        for y in [l.at.y, above] {
            if placed.place(node_label_box(Point { x: l.at.x, y }, &n.label)) {
                l.at.y = y;
                return true;
            }
        }
        false
    });
    nodes.sort_by_key(|l| l.index);
    scene.node_labels = nodes;
    let mut edges = std::mem::take(&mut scene.edge_labels);
    sort_by_weight(&mut edges, |i| g.edges.get(i).map_or(0.0, |e| e.value));
    let step = EDGE_LABEL_HEIGHT_PX + 2.0;
    edges.retain_mut(|l| {
        let Some(e) = g.edges.get(l.index) else {
            return false;
        };
        let text = f.view.settings.format_value(e.value);
        for dy in [0.0, -step, step] {
            let y = l.at.y + dy;
            if placed.place(edge_label_box(Point { x: l.at.x, y }, &text)) {
                l.at.y = y;
                return true;
            }
        }
        false
    });
    edges.sort_by_key(|l| l.index);
    scene.edge_labels = edges;
}

/// Sorts labels by descending `weight` of their index (ties: lower index
/// first).
fn sort_by_weight(labels: &mut [Label], weight: impl Fn(usize) -> f64) {
    labels.sort_by(|a, b| {
        weight(b.index)
            .total_cmp(&weight(a.index))
            .then(a.index.cmp(&b.index))
    });
}

/// Keeps the `cap` labels of largest `weight` (ties: lower index first),
/// in their original order.
pub fn keep_largest(labels: &mut Vec<Label>, cap: usize, weight: impl Fn(usize) -> f64) {
    if labels.len() <= cap {
        return;
    }
    sort_by_weight(labels, weight);
    labels.truncate(cap);
    labels.sort_by_key(|l| l.index);
}

/// A stroke width (CSS px) rounded to the batch grid (never 0).
pub fn bucket_width(w: f64) -> u16 {
    (w * WIDTH_STEPS).round().clamp(1.0, f64::from(u16::MAX)) as u16
}

/// The width (CSS px) a bucket is drawn with.
pub fn bucket_to_width(b: u16) -> f64 {
    f64::from(b) / WIDTH_STEPS
}

/// Edges with the same key share a stroke style (colour and width), set
/// once per group by the Canvas 2D renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchKey {
    /// Index into [`crate::palette::EDGE_COLOURS`].
    pub colour: u8,
    /// Width bucket, see [`bucket_width`].
    pub width: u16,
}

/// The line of an edge on screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EdgePath {
    /// Quadratic curve.
    Curve {
        start: Point,
        ctrl: Point,
        end: Point,
    },
    /// Short on screen: a segment.
    Straight { start: Point, end: Point },
    /// An edge from a node to itself: a circle.
    Loop { centre: Point, radius: f64 },
}

/// An arrowhead: a triangle from `tip` back along `dir` by `len`,
/// `len` × 0.45 wide on each side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrow {
    pub tip: Point,
    pub dir: Point,
    pub len: f64,
}

impl Arrow {
    /// The three corners: tip, then the two base corners.
    pub fn corners(&self) -> [Point; 3] {
        let base = Point {
            x: self.tip.x - self.dir.x * self.len,
            y: self.tip.y - self.dir.y * self.len,
        };
        let half = self.len * 0.45;
        [
            self.tip,
            Point {
                x: base.x - self.dir.y * half,
                y: base.y + self.dir.x * half,
            },
            Point {
                x: base.x + self.dir.y * half,
                y: base.y - self.dir.x * half,
            },
        ]
    }
}

/// One visible edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgeShape {
    /// Index into the graph's edges.
    pub edge: usize,
    pub path: EdgePath,
    pub key: BatchKey,
    pub arrow: Option<Arrow>,
    /// Label anchor (curve midpoint).
    pub mid: Point,
}

impl EdgeShape {
    /// Stroke width in CSS px.
    pub fn width(&self) -> f64 {
        bucket_to_width(self.key.width)
    }
}

/// One visible node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeShape {
    /// Index into the graph's nodes.
    pub node: usize,
    pub centre: Point,
    pub radius: f64,
    /// Index into [`crate::palette::NODE_COLOURS`].
    pub colour: u8,
    /// Outline width (CSS px).
    pub outline: f64,
}

/// A label to draw: text anchor and the index of its edge or node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Label {
    pub at: Point,
    pub index: usize,
}

/// What a frame draws, in screen space (CSS px).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scene {
    pub lod: Option<Lod>,
    /// Visible edges, in graph order.
    pub edges: Vec<EdgeShape>,
    /// Visible nodes, in graph order (later ones on top).
    pub nodes: Vec<NodeShape>,
    /// Edge labels (centred on `at`) and node labels (top-centred at `at`).
    pub edge_labels: Vec<Label>,
    pub node_labels: Vec<Label>,
    /// `Some((drawn at most, edges))` when the map has more edges than
    /// [`EDGE_BUDGET`] and only the heaviest are drawn.
    pub budget: Option<(usize, usize)>,
}

/// The least value an edge needs to be drawn when `values` (one per edge)
/// exceed `budget`, and how many edges with exactly that value may still
/// be drawn (the first ones in graph order); None when all fit.
fn budget_cut(values: impl Iterator<Item = f64>, budget: usize) -> Option<(f64, usize)> {
    let mut v: Vec<f64> = values.collect();
    if v.len() <= budget || budget == 0 {
        return None;
    }
    let (_, &mut cut, _) = v.select_nth_unstable_by(budget - 1, |a, b| b.total_cmp(a));
    let above = v.iter().filter(|x| x.total_cmp(&cut).is_gt()).count();
    Some((cut, budget - above))
}

/// Does the box `lo..hi` grown by `pad` meet the viewport `0..w × 0..h`?
pub fn box_visible(lo: Point, hi: Point, pad: f64, w: f64, h: f64) -> bool {
    hi.x > -pad && hi.y > -pad && lo.x < w + pad && lo.y < h + pad
}

fn point_visible(p: Point, pad: f64, w: f64, h: f64) -> bool {
    box_visible(p, p, pad, w, h)
}

/// How far (CSS px) the quadratic curve `start → ctrl → end` departs from
/// its chord at most: half the control point's distance from the chord line.
pub fn bulge(start: Point, ctrl: Point, end: Point) -> f64 {
    let (dx, dy) = (end.x - start.x, end.y - start.y);
    let len = (dx * dx + dy * dy).sqrt();
    let (cx, cy) = (ctrl.x - start.x, ctrl.y - start.y);
    if len < 1e-9 {
        return (cx * cx + cy * cy).sqrt() / 2.0;
    }
    (dx * cy - dy * cx).abs() / len / 2.0
}

/// A [`Scene`] built in pieces: [`SceneBuilder::new`] prepares (screen
/// positions, radii, bends), [`SceneBuilder::edges`] shapes the next edges,
/// [`SceneBuilder::finish`] shapes the rest, the nodes and the labels. The
/// frame passed to each call must show the same graph, positions, camera
/// and view. Building in pieces gives the same scene as
/// [`Scene::build`] (which is `new` then `finish`), so the scene cache can
/// spread the build of a big graph over several animation frames.
#[derive(Debug, Clone)]
pub struct SceneBuilder {
    shapes: bool,
    lod: Lod,
    screen: Vec<Point>,
    r: Vec<f64>,
    max_v: f64,
    bend: Vec<f64>,
    zoom_width: f64,
    /// With more edges than [`EDGE_BUDGET`]: the least value drawn and how
    /// many more edges of exactly that value may be drawn.
    cut: Option<(f64, usize)>,
    /// Edges to shape (all, or none when only labels are asked for and
    /// edge labels are off), and the next one.
    edge_count: usize,
    next: usize,
    scene: Scene,
}

impl SceneBuilder {
    /// Prepares the build of `f`'s scene (`shapes`: else labels only);
    /// `None` for an empty graph (its scene is empty).
    pub fn new(f: &Frame<'_>, shapes: bool) -> Option<SceneBuilder> {
        let g = f.graph;
        if g.nodes.is_empty() {
            return None;
        }
        let (w, h) = (f.width, f.height);
        let s = f.camera.scale;
        let lod = lod(g.nodes.len(), g.edges.len(), s, f.view.show_bandwidth);
        let screen: Vec<Point> = f
            .positions
            .iter()
            .map(|p| f.camera.to_screen(*p, w, h))
            .collect();
        let r: Vec<f64> = radii(g)
            .iter()
            .map(|r| (r * s).max(MIN_SCREEN_RADIUS))
            .collect();
        let max_v = g.edges.iter().map(|e| e.value).fold(0.0, f64::max);
        let edge_count = if shapes || lod.edge_labels {
            g.edges.len()
        } else {
            0
        };
        let bend = bends(g.edges.get(..edge_count).unwrap_or(&[]));
        let over = g.edges.len() > EDGE_BUDGET;
        let mut scene = Scene {
            lod: Some(lod),
            budget: over.then_some((EDGE_BUDGET, g.edges.len())),
            ..Scene::default()
        };
        // Only a build that shapes edges needs the cut (a labels-only
        // scene of a map this big shapes none: no edge labels).
        let cut = if over && edge_count > 0 {
            budget_cut(g.edges.iter().map(|e| e.value), EDGE_BUDGET)
        } else {
            None
        };
        scene.edges.reserve(edge_count.min(EDGE_BUDGET));
        Some(SceneBuilder {
            shapes,
            lod,
            screen,
            r,
            max_v,
            bend,
            zoom_width: s.clamp(0.3, 2.0),
            cut,
            edge_count,
            next: 0,
            scene,
        })
    }

    /// All edges are shaped.
    pub fn edges_done(&self) -> bool {
        self.next >= self.edge_count
    }

    /// Edges shaped so far, of how many.
    pub fn edge_progress(&self) -> (usize, usize) {
        (self.next.min(self.edge_count), self.edge_count)
    }

    /// Shapes the next `n` edges.
    pub fn edges(&mut self, f: &Frame<'_>, n: usize) {
        let end = self.next.saturating_add(n).min(self.edge_count);
        for i in self.next..end {
            self.edge(f, i);
        }
        self.next = end.max(self.next);
    }

    fn edge(&mut self, f: &Frame<'_>, i: usize) {
        let Some(e) = f.graph.edges.get(i) else {
            return;
        };
        if let Some((least, ties)) = &mut self.cut {
            match e.value.total_cmp(least) {
                std::cmp::Ordering::Less => return,
                std::cmp::Ordering::Equal if *ties == 0 => return,
                std::cmp::Ordering::Equal => *ties -= 1,
                std::cmp::Ordering::Greater => {}
            }
        }
        let (w, h) = (f.width, f.height);
        let (lod, max_v, zoom_width) = (self.lod, self.max_v, self.zoom_width);
        // Arrowheads shrink with the zoom below 1, as nodes and edges do
        // (at a fit of thousands of nodes, 10 px heads were larger than
        // the nodes); never larger than at zoom 1.
        let arrow_base = ARROW_LEN * zoom_width.min(1.0);
        let (screen, r, bend) = (&self.screen, &self.r, &self.bend);
        let scene = &mut self.scene;
        let (Some(&a), Some(&b)) = (screen.get(e.source), screen.get(e.target)) else {
            return;
        };
        let stroke = if f.view.show_bandwidth {
            width(e.value, max_v)
        } else {
            1.5
        } * zoom_width;
        let key = BatchKey {
            colour: edge_colour_index(e.protocol) as u8,
            width: bucket_width(stroke),
        };
        let stroke = bucket_to_width(key.width);
        let ra = r.get(e.source).copied().unwrap_or(4.0);
        let rb = r.get(e.target).copied().unwrap_or(4.0);
        if e.source == e.target {
            let centre = Point {
                x: a.x + ra,
                y: a.y - ra,
            };
            let radius = ra * 0.9;
            if point_visible(centre, radius + stroke, w, h) {
                scene.edges.push(EdgeShape {
                    edge: i,
                    path: EdgePath::Loop { centre, radius },
                    key,
                    arrow: None,
                    mid: centre,
                });
            }
            return;
        }
        let c = curve(
            a,
            b,
            ra,
            rb + arrow_base * 0.6,
            bend.get(i).copied().unwrap_or(BEND),
        );
        // The curve lies inside the triangle start, ctrl, end.
        let lo = Point {
            x: c.start.x.min(c.ctrl.x).min(c.end.x),
            y: c.start.y.min(c.ctrl.y).min(c.end.y),
        };
        let hi = Point {
            x: c.start.x.max(c.ctrl.x).max(c.end.x),
            y: c.start.y.max(c.ctrl.y).max(c.end.y),
        };
        let al = arrow_base + stroke * 1.2;
        if !box_visible(lo, hi, stroke + al, w, h) {
            return;
        }
        let chord = ((c.end.x - c.start.x).powi(2) + (c.end.y - c.start.y).powi(2)).sqrt();
        // Measured between the node centres: the curve's own chord can
        // degenerate when the nodes nearly touch.
        let path = if !lod.curves || bulge(a, c.ctrl, b) < STRAIGHT_MAX_BULGE_PX {
            EdgePath::Straight {
                start: c.start,
                end: c.end,
            }
        } else {
            EdgePath::Curve {
                start: c.start,
                ctrl: c.ctrl,
                end: c.end,
            }
        };
        let arrow = (lod.arrows && chord >= ARROW_MIN_EDGE_PX).then_some(Arrow {
            tip: Point {
                x: c.end.x + c.dir.x * arrow_base * 0.6,
                y: c.end.y + c.dir.y * arrow_base * 0.6,
            },
            dir: c.dir,
            len: al,
        });
        if lod.edge_labels && point_visible(c.mid, 0.0, w, h) {
            scene.edge_labels.push(Label {
                at: c.mid,
                index: i,
            });
        }
        scene.edges.push(EdgeShape {
            edge: i,
            path,
            key,
            arrow,
            mid: c.mid,
        });
    }

    /// Shapes the remaining edges, then the nodes and the labels.
    pub fn finish(mut self, f: &Frame<'_>) -> Scene {
        self.edges(f, usize::MAX);
        let g = f.graph;
        let (w, h) = (f.width, f.height);
        let shapes = self.shapes;
        let lod = self.lod;
        let (screen, r) = (&self.screen, &self.r);
        let mut scene = std::mem::take(&mut self.scene);
        for (i, n) in g.nodes.iter().enumerate() {
            let (Some(&p), Some(&rad)) = (screen.get(i), r.get(i)) else {
                continue;
            };
            if lod.node_labels && point_visible(p, 100.0, w, h) {
                scene.node_labels.push(Label {
                    at: Point {
                        x: p.x,
                        y: p.y + rad + 4.0,
                    },
                    index: i,
                });
            }
            if !shapes || !point_visible(p, rad + SELECTED_OUTLINE, w, h) {
                continue;
            }
            scene.nodes.push(NodeShape {
                node: i,
                centre: p,
                radius: rad,
                colour: namespace_colour_index(&n.namespace) as u8,
                outline: if f.selected == Some(i) {
                    SELECTED_OUTLINE
                } else {
                    NODE_OUTLINE
                },
            });
        }
        if !shapes {
            scene.edges.clear();
        }
        keep_largest(&mut scene.node_labels, NODE_LABEL_MAX_VISIBLE, |i| {
            r.get(i).copied().unwrap_or(0.0)
        });
        keep_largest(&mut scene.edge_labels, EDGE_LABEL_MAX_VISIBLE, |i| {
            g.edges.get(i).map_or(0.0, |e| e.value)
        });
        declutter(&mut scene, f, r);
        scene
    }
}

impl Scene {
    /// The scene of a frame: cull, pick the level of detail, shape edges.
    pub fn build(f: &Frame<'_>) -> Scene {
        Self::build_parts(f, true)
    }

    /// Only the labels of [`Scene::build`] (same anchors, same caps), no
    /// shapes: what the scene cache draws fresh over its cached picture.
    /// It shapes no edge unless edge labels are on (at most
    /// [`EDGE_LABEL_MAX_EDGES`] edges), so it costs little on big graphs.
    pub fn labels(f: &Frame<'_>) -> Scene {
        Self::build_parts(f, false)
    }

    fn build_parts(f: &Frame<'_>, shapes: bool) -> Scene {
        match SceneBuilder::new(f, shapes) {
            Some(b) => b.finish(f),
            None => Scene::default(),
        }
    }

    /// The selected node's shape (thick outline), wherever it is: what
    /// the scene cache draws on top of its picture.
    pub fn selected(f: &Frame<'_>) -> Option<NodeShape> {
        let i = f.selected?;
        let n = f.graph.nodes.get(i)?;
        let p = f.positions.get(i)?;
        let rad = radii(f.graph).get(i).copied()?;
        Some(NodeShape {
            node: i,
            centre: f.camera.to_screen(*p, f.width, f.height),
            radius: (rad * f.camera.scale).max(MIN_SCREEN_RADIUS),
            colour: namespace_colour_index(&n.namespace) as u8,
            outline: SELECTED_OUTLINE,
        })
    }

    /// Indices into [`Scene::edges`] grouped by batch key, keys in order;
    /// graph order inside a batch.
    pub fn batches(&self) -> Vec<(BatchKey, Vec<usize>)> {
        let order: Vec<(BatchKey, usize)> = self
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key, i))
            .collect();
        runs(order)
    }

    /// Indices into [`Scene::edges`] of edges with an arrowhead, grouped by
    /// colour index, colours in order.
    pub fn arrow_batches(&self) -> Vec<(u8, Vec<usize>)> {
        let order: Vec<(u8, usize)> = self
            .edges
            .iter()
            .enumerate()
            .filter(|(_, e)| e.arrow.is_some())
            .map(|(i, e)| (e.key.colour, i))
            .collect();
        runs(order)
    }

    /// Indices into [`Scene::nodes`] grouped by fill colour index.
    pub fn node_batches(&self) -> Vec<(u8, Vec<usize>)> {
        let order: Vec<(u8, usize)> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.colour, i))
            .collect();
        runs(order)
    }
}

/// `(key, index)` pairs sorted by key, then gathered into one index list
/// per key, keys in order.
fn runs<K: Ord + Copy>(mut order: Vec<(K, usize)>) -> Vec<(K, Vec<usize>)> {
    order.sort_unstable();
    let mut out: Vec<(K, Vec<usize>)> = Vec::new();
    for (key, i) in order {
        match out.last_mut() {
            Some((k, v)) if *k == key => v.push(i),
            _ => out.push((key, vec![i])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;
    use wiremap_model::{MapEdge, MapNode, NodeKind};

    fn graph(pairs: &[(usize, usize)], nodes: usize) -> MapGraph {
        let mut g = MapGraph::default();
        for i in 0..nodes {
            g.nodes.push(
                MapNode::new(format!("n{i}"), format!("node {i}"), NodeKind::Pod)
                    .in_namespace(format!("ns-{i}")),
            );
        }
        for (k, (s, t)) in pairs.iter().enumerate() {
            let mut e = MapEdge::new(format!("e{k}"), *s, *t);
            e.value = 1.0 + k as f64;
            g.edges.push(e);
        }
        g
    }

    fn frame<'a>(
        g: &'a MapGraph,
        pos: &'a [Point],
        cam: &'a Camera,
        view: &'a ViewState,
    ) -> Frame<'a> {
        Frame {
            graph: g,
            positions: pos,
            camera: cam,
            view,
            width: 400.0,
            height: 300.0,
            dpr: 1.0,
            theme: LIGHT,
            selected: None,
        }
    }

    #[wasm_bindgen_test]
    fn lod_thresholds() {
        let l = lod(10_000, 50_000, 0.1, true);
        assert!(!l.arrows && !l.edge_labels && !l.node_labels && !l.curves);
        assert!(lod(10_000, 50_000, CURVE_MIN_SCALE, true).curves);
        let l = lod(100, 200, 0.1, true);
        assert!(!l.arrows && !l.edge_labels && l.node_labels);
        let l = lod(1_000, 3_000, 1.0, true);
        assert!(l.arrows && l.edge_labels && l.node_labels);
        assert!(!lod(1_000, 3_000, 1.0, false).edge_labels);
        assert!(!lod(1_000, 5_000, 1.0, true).edge_labels);
        assert!(lod(1_000, 5_000, ARROW_MIN_SCALE, true).arrows);
    }

    #[wasm_bindgen_test]
    fn widths_share_buckets() {
        assert_eq!(bucket_width(1.0), 4);
        assert_eq!(bucket_width(1.1), bucket_width(1.0));
        assert_ne!(bucket_width(1.2), bucket_width(1.0));
        assert_eq!(bucket_width(0.0), 1);
        assert_eq!(bucket_to_width(bucket_width(2.5)), 2.5);
        assert!((bucket_to_width(bucket_width(3.37)) - 3.37).abs() <= 0.5 / WIDTH_STEPS);
    }

    #[wasm_bindgen_test]
    fn the_budget_cut_keeps_the_heaviest_and_the_first_ties() {
        let v = [5.0, 1.0, 5.0, 3.0, 5.0, 2.0];
        assert_eq!(budget_cut(v.iter().copied(), 6), None);
        assert_eq!(budget_cut(v.iter().copied(), 2), Some((5.0, 2)));
        assert_eq!(budget_cut(v.iter().copied(), 4), Some((3.0, 1)));
        assert_eq!(budget_cut(v.iter().copied(), 5), Some((2.0, 1)));
    }

    #[wasm_bindgen_test]
    fn beyond_the_budget_only_the_heaviest_edges_are_drawn() {
        // More edges than the budget between 300 nodes on screen, values
        // with many ties.
        let n = EDGE_BUDGET + 777;
        let pairs: Vec<(usize, usize)> = (0..n).map(|k| (k % 300, (k * 7 + 1) % 300)).collect();
        let mut g = graph(&pairs, 300);
        for (k, e) in g.edges.iter_mut().enumerate() {
            e.value = ((k * 7_919) % 1_000) as f64;
        }
        let pos: Vec<Point> = (0..300)
            .map(|i| Point {
                x: (i % 20) as f64 * 10.0 - 100.0,
                y: (i / 20) as f64 * 10.0 - 75.0,
            })
            .collect();
        let cam = Camera::default();
        let v = ViewState::default();
        let s = Scene::build(&frame(&g, &pos, &cam, &v));
        assert_eq!(s.budget, Some((EDGE_BUDGET, n)));
        assert_eq!(s.edges.len(), EDGE_BUDGET);
        let mut drawn = vec![false; n];
        for e in &s.edges {
            drawn[e.edge] = true;
        }
        let least_drawn = (0..n).filter(|&i| drawn[i]).map(|i| g.edges[i].value);
        let least_drawn = least_drawn.fold(f64::INFINITY, f64::min);
        let most_left = (0..n).filter(|&i| !drawn[i]).map(|i| g.edges[i].value);
        assert!(most_left.fold(f64::NEG_INFINITY, f64::max) <= least_drawn);
        // Of the edges with the least drawn value, the first are drawn.
        let ties: Vec<bool> = (0..n)
            .filter(|&i| g.edges[i].value == least_drawn)
            .map(|i| drawn[i])
            .collect();
        assert!(ties.windows(2).all(|w| w[0] || !w[1]), "{ties:?}");
        // A labels-only scene says the same and shapes no edge.
        let l = Scene::labels(&frame(&g, &pos, &cam, &v));
        assert_eq!(l.budget, Some((EDGE_BUDGET, n)));
        assert!(l.edges.is_empty());
        // Within the budget, nothing is said.
        g.edges.truncate(EDGE_BUDGET);
        assert_eq!(Scene::build(&frame(&g, &pos, &cam, &v)).budget, None);
    }

    #[wasm_bindgen_test]
    fn off_screen_edges_and_nodes_are_culled() {
        // 0 and 1 on screen, 2 and 3 far to the right.
        let g = graph(&[(0, 1), (2, 3), (0, 2)], 4);
        let pos = [
            Point { x: -100.0, y: 0.0 },
            Point { x: 100.0, y: 0.0 },
            Point { x: 5_000.0, y: 0.0 },
            Point { x: 5_200.0, y: 0.0 },
        ];
        let cam = Camera::default();
        let v = ViewState::default();
        let s = Scene::build(&frame(&g, &pos, &cam, &v));
        let edges: Vec<usize> = s.edges.iter().map(|e| e.edge).collect();
        // The edge 0 → 2 crosses the screen: kept.
        assert_eq!(edges, vec![0, 2]);
        let nodes: Vec<usize> = s.nodes.iter().map(|n| n.node).collect();
        assert_eq!(nodes, vec![0, 1]);
    }

    #[wasm_bindgen_test]
    fn an_edge_crossing_the_screen_with_both_ends_outside_is_kept() {
        let g = graph(&[(0, 1)], 2);
        let pos = [
            Point {
                x: -3_000.0,
                y: 0.0,
            },
            Point { x: 3_000.0, y: 0.0 },
        ];
        let cam = Camera::default();
        let v = ViewState::default();
        let s = Scene::build(&frame(&g, &pos, &cam, &v));
        assert_eq!(s.edges.len(), 1);
        assert!(s.nodes.is_empty());
    }

    #[wasm_bindgen_test]
    fn short_edges_are_straight_and_lose_arrows_when_zoomed_out() {
        let g = graph(&[(0, 1), (1, 0)], 2);
        let pos = [Point { x: -100.0, y: 0.0 }, Point { x: 100.0, y: 0.0 }];
        let v = ViewState::default();
        let near = Camera::default();
        let s = Scene::build(&frame(&g, &pos, &near, &v));
        assert!(matches!(s.edges[0].path, EdgePath::Curve { .. }));
        assert!(s.edges.iter().all(|e| e.arrow.is_some()));
        let far = Camera {
            center: Point::default(),
            scale: 0.05,
        };
        let s = Scene::build(&frame(&g, &pos, &far, &v));
        assert_eq!(s.edges.len(), 2);
        assert!(s.edges.iter().all(|e| e.arrow.is_none()));
        assert!(s
            .edges
            .iter()
            .all(|e| matches!(e.path, EdgePath::Straight { .. })));
    }

    #[wasm_bindgen_test]
    fn a_self_edge_is_a_loop() {
        let g = graph(&[(0, 0)], 1);
        let pos = [Point::default()];
        let cam = Camera::default();
        let v = ViewState::default();
        let s = Scene::build(&frame(&g, &pos, &cam, &v));
        assert!(matches!(s.edges[0].path, EdgePath::Loop { .. }));
    }

    #[wasm_bindgen_test]
    fn batches_group_by_colour_and_width() {
        let mk = |edge, colour, width| EdgeShape {
            edge,
            path: EdgePath::Straight {
                start: Point::default(),
                end: Point::default(),
            },
            key: BatchKey { colour, width },
            arrow: Some(Arrow {
                tip: Point::default(),
                dir: Point { x: 1.0, y: 0.0 },
                len: 10.0,
            }),
            mid: Point::default(),
        };
        let s = Scene {
            edges: vec![mk(0, 2, 4), mk(1, 1, 4), mk(2, 2, 4), mk(3, 2, 8)],
            ..Scene::default()
        };
        let b = s.batches();
        assert_eq!(
            b,
            vec![
                (
                    BatchKey {
                        colour: 1,
                        width: 4
                    },
                    vec![1]
                ),
                (
                    BatchKey {
                        colour: 2,
                        width: 4
                    },
                    vec![0, 2]
                ),
                (
                    BatchKey {
                        colour: 2,
                        width: 8
                    },
                    vec![3]
                ),
            ]
        );
        assert_eq!(s.arrow_batches(), vec![(1, vec![1]), (2, vec![0, 2, 3])]);
    }

    #[wasm_bindgen_test]
    fn labels_follow_the_level_of_detail() {
        let g = graph(&[(0, 1)], 2);
        let pos = [Point { x: -100.0, y: 0.0 }, Point { x: 100.0, y: 0.0 }];
        let cam = Camera::default();
        let mut v = ViewState::default();
        let s = Scene::build(&frame(&g, &pos, &cam, &v));
        assert_eq!(s.edge_labels.len(), 1);
        assert_eq!(s.node_labels.len(), 2);
        v.show_bandwidth = false;
        let s = Scene::build(&frame(&g, &pos, &cam, &v));
        assert!(s.edge_labels.is_empty());
    }

    #[wasm_bindgen_test]
    fn bulge_is_half_the_control_offset_from_the_chord() {
        let o = Point::default();
        let e = Point { x: 10.0, y: 0.0 };
        assert_eq!(bulge(o, Point { x: 5.0, y: 4.0 }, e), 2.0);
        // Sliding the control point along the chord changes nothing.
        assert_eq!(bulge(o, Point { x: 30.0, y: -4.0 }, e), 2.0);
        assert_eq!(bulge(o, Point { x: 3.0, y: 0.0 }, e), 0.0);
        assert_eq!(bulge(o, Point { x: 3.0, y: 4.0 }, o), 2.5);
    }

    #[wasm_bindgen_test]
    fn label_caps_keep_the_heaviest_in_order() {
        let mut l: Vec<Label> = (0..6)
            .map(|index| Label {
                at: Point::default(),
                index,
            })
            .collect();
        let w = [1.0, 9.0, 3.0, 9.0, 0.0, 5.0];
        keep_largest(&mut l, 3, |i| w[i]);
        let kept: Vec<usize> = l.iter().map(|l| l.index).collect();
        assert_eq!(kept, vec![1, 3, 5]);
        keep_largest(&mut l, 10, |_| 0.0);
        assert_eq!(l.len(), 3);
    }

    #[wasm_bindgen_test]
    fn many_visible_nodes_label_only_the_busiest() {
        let n = NODE_LABEL_MAX_VISIBLE + 50;
        let mut g = graph(&[], n);
        for (i, node) in g.nodes.iter_mut().enumerate() {
            node.in_bytes = i as u64;
        }
        // A grid roomy enough for every label ("node 123": 56 px wide).
        let pos: Vec<Point> = (0..n)
            .map(|i| Point {
                x: (i % 20) as f64 * 70.0 - 700.0,
                y: (i / 20) as f64 * 40.0 - 360.0,
            })
            .collect();
        let cam = Camera::default();
        let v = ViewState::default();
        let f = Frame {
            width: 1600.0,
            height: 900.0,
            ..frame(&g, &pos, &cam, &v)
        };
        let s = Scene::build(&f);
        assert_eq!(s.node_labels.len(), NODE_LABEL_MAX_VISIBLE);
        // The 50 quietest lose their labels.
        assert_eq!(s.node_labels.first().map(|l| l.index), Some(50));
    }

    /// The boxes of a scene's labels (as [`declutter`] estimates them).
    fn label_boxes(s: &Scene, g: &MapGraph, v: &ViewState) -> Vec<[f64; 4]> {
        let nodes = s
            .node_labels
            .iter()
            .map(|l| node_label_box(l.at, &g.nodes[l.index].label));
        let edges = s
            .edge_labels
            .iter()
            .map(|l| edge_label_box(l.at, &v.settings.format_value(g.edges[l.index].value)));
        nodes.chain(edges).collect()
    }

    fn overlapping(boxes: &[[f64; 4]]) -> usize {
        boxes
            .iter()
            .enumerate()
            .map(|(i, a)| {
                boxes[i + 1..]
                    .iter()
                    .filter(|b| boxes_overlap(a, b))
                    .count()
            })
            .sum()
    }

    #[wasm_bindgen_test]
    fn labels_move_aside_or_go_rather_than_overlap() {
        // Far apart: every label at its anchor.
        let mut g = graph(&[(0, 1), (1, 0)], 2);
        let cam = Camera::default();
        let v = ViewState::default();
        let pos = [Point { x: -150.0, y: 0.0 }, Point { x: 150.0, y: 0.0 }];
        let apart = Scene::build(&frame(&g, &pos, &cam, &v));
        assert_eq!(apart.node_labels.len(), 2);
        assert_eq!(apart.edge_labels.len(), 2);
        for (l, e) in apart.edge_labels.iter().zip(&apart.edges) {
            assert_eq!(l.at, e.mid, "an edge label at its edge's middle");
        }
        for l in &apart.node_labels {
            let n = apart.nodes.iter().find(|n| n.node == l.index).unwrap();
            assert_eq!(l.at.y, n.centre.y + n.radius + 4.0, "below its node");
        }
        // Three nodes on one spot: the largest's label below, the next
        // above, the third left out; parallel edges' labels a line apart.
        g = graph(&[(0, 1), (0, 1), (0, 1)], 3);
        for (i, n) in g.nodes.iter_mut().enumerate() {
            n.in_bytes = 100 * (3 - i as u64);
        }
        let pos = [
            Point { x: 0.0, y: 0.0 },
            Point { x: 2.0, y: 0.0 },
            Point { x: 0.0, y: 2.0 },
        ];
        let s = Scene::build(&frame(&g, &pos, &cam, &v));
        let kept: Vec<usize> = s.node_labels.iter().map(|l| l.index).collect();
        assert_eq!(kept, vec![0, 1], "the smallest node's label goes");
        let below = s.node_labels[0].at.y;
        let above = s.node_labels[1].at.y;
        assert!(
            above + NODE_LABEL_HEIGHT_PX <= below,
            "{above} above {below}"
        );
        assert_eq!(overlapping(&label_boxes(&s, &g, &v)), 0);
        // Without the pass, the same labels would overlap.
        let mut all = s.clone();
        all.node_labels = (0..3)
            .map(|i| Label {
                at: Point {
                    x: pos[i].x + 200.0,
                    y: pos[i].y + 150.0 + 12.0,
                },
                index: i,
            })
            .collect();
        assert!(overlapping(&label_boxes(&all, &g, &v)) > 0);
    }

    #[wasm_bindgen_test]
    fn labels_only_match_the_full_scene_labels() {
        let g = graph(&[(0, 1), (1, 0)], 2);
        let pos = [Point { x: -100.0, y: 0.0 }, Point { x: 100.0, y: 0.0 }];
        let cam = Camera::default();
        let v = ViewState::default();
        let f = frame(&g, &pos, &cam, &v);
        let full = Scene::build(&f);
        let l = Scene::labels(&f);
        assert!(l.edges.is_empty() && l.nodes.is_empty());
        assert_eq!(l.node_labels, full.node_labels);
        assert_eq!(l.edge_labels, full.edge_labels);
        assert!(!l.edge_labels.is_empty());
    }

    #[wasm_bindgen_test]
    fn a_scene_built_in_pieces_is_the_scene_built_at_once() {
        let pairs: Vec<(usize, usize)> = (0..40).map(|k| (k % 7, (k * 3 + 1) % 7)).collect();
        let g = graph(&pairs, 7);
        let pos: Vec<Point> = (0..7)
            .map(|i| Point {
                x: (i as f64 * 0.9).cos() * 120.0,
                y: (i as f64 * 0.9).sin() * 120.0,
            })
            .collect();
        let cam = Camera::default();
        let v = ViewState::default();
        let f = frame(&g, &pos, &cam, &v);
        let mut b = SceneBuilder::new(&f, true).expect("nodes");
        let mut pieces = 0;
        while !b.edges_done() {
            b.edges(&f, 3);
            pieces += 1;
        }
        assert_eq!(pieces, 14);
        assert_eq!(b.edge_progress(), (40, 40));
        let s = b.finish(&f);
        assert_eq!(s, Scene::build(&f));
        assert!(!s.edges.is_empty());
        let empty = MapGraph::default();
        assert!(SceneBuilder::new(&frame(&empty, &[], &cam, &v), true).is_none());
    }

    #[wasm_bindgen_test]
    fn the_selected_shape_has_the_thick_outline() {
        let g = graph(&[(0, 1)], 2);
        let pos = [Point { x: -100.0, y: 0.0 }, Point { x: 100.0, y: 0.0 }];
        let cam = Camera::default();
        let v = ViewState::default();
        let mut f = frame(&g, &pos, &cam, &v);
        assert_eq!(Scene::selected(&f), None);
        f.selected = Some(1);
        let full = Scene::build(&f);
        let sel = Scene::selected(&f).expect("selected");
        assert_eq!(sel, full.nodes[1]);
        assert_eq!(sel.outline, SELECTED_OUTLINE);
    }

    #[wasm_bindgen_test]
    fn arrow_corners() {
        let a = Arrow {
            tip: Point { x: 10.0, y: 0.0 },
            dir: Point { x: 1.0, y: 0.0 },
            len: 10.0,
        };
        let [t, l, r] = a.corners();
        assert_eq!(t, Point { x: 10.0, y: 0.0 });
        assert_eq!(l, Point { x: 0.0, y: 4.5 });
        assert_eq!(r, Point { x: 0.0, y: -4.5 });
    }
}
