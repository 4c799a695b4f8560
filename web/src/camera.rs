//! World ↔ screen transform: zoom around a point, pan, fit to a box.

use crate::geometry::Point;

/// Closest and farthest zoom.
pub const MIN_SCALE: f64 = 0.02;
pub const MAX_SCALE: f64 = 8.0;

/// screen = (world - center) * scale + viewport / 2
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub center: Point,
    pub scale: f64,
}

impl Default for Camera {
    fn default() -> Self {
        Camera {
            center: Point::default(),
            scale: 1.0,
        }
    }
}

impl Camera {
    pub fn to_screen(&self, p: Point, w: f64, h: f64) -> Point {
        Point {
            x: (p.x - self.center.x) * self.scale + w / 2.0,
            y: (p.y - self.center.y) * self.scale + h / 2.0,
        }
    }

    pub fn to_world(&self, s: Point, w: f64, h: f64) -> Point {
        Point {
            x: (s.x - w / 2.0) / self.scale + self.center.x,
            y: (s.y - h / 2.0) / self.scale + self.center.y,
        }
    }

    /// Moves the view by a screen-space delta.
    pub fn pan(&mut self, dx: f64, dy: f64) {
        self.center.x -= dx / self.scale;
        self.center.y -= dy / self.scale;
    }

    /// Zooms by `factor`, keeping the world point under `at` (screen) fixed.
    pub fn zoom_at(&mut self, factor: f64, at: Point, w: f64, h: f64) {
        let before = self.to_world(at, w, h);
        self.scale = (self.scale * factor).clamp(MIN_SCALE, MAX_SCALE);
        let after = self.to_world(at, w, h);
        self.center.x += before.x - after.x;
        self.center.y += before.y - after.y;
    }

    /// Shows the box `lo..hi` with `margin` screen pixels around it.
    pub fn fit(&mut self, lo: Point, hi: Point, w: f64, h: f64, margin: f64) {
        let all = (Point { x: 0.0, y: 0.0 }, Point { x: w, y: h });
        self.fit_into((lo, hi), w, h, all, margin);
    }

    /// Shows the box `lo..hi` (world) in the part `area` (screen px, top
    /// left and bottom right) of a `w` × `h` canvas, with `margin` screen
    /// pixels around it.
    pub fn fit_into(
        &mut self,
        (lo, hi): (Point, Point),
        w: f64,
        h: f64,
        area: (Point, Point),
        margin: f64,
    ) {
        self.scale = fit_scale((lo, hi), area, margin);
        // The box's centre at the area's centre.
        let (ax, ay) = ((area.0.x + area.1.x) / 2.0, (area.0.y + area.1.y) / 2.0);
        self.center = Point {
            x: (lo.x + hi.x) / 2.0 - (ax - w / 2.0) / self.scale,
            y: (lo.y + hi.y) / 2.0 - (ay - h / 2.0) / self.scale,
        };
    }

    /// Shows the box `lo..hi` (world) on a `w` × `h` canvas with a panel
    /// over part of it (`cover`, screen px; the legend): in the strip
    /// beside the panel (above, below, left or right of it) where the box
    /// shows largest, or on the whole canvas when the panel is not over
    /// it. Nothing of the box is then under the panel.
    pub fn fit_beside(
        &mut self,
        (lo, hi): (Point, Point),
        w: f64,
        h: f64,
        cover: Option<(Point, Point)>,
        margin: f64,
    ) {
        let area = best_area((lo, hi), w, h, cover, margin);
        self.fit_into((lo, hi), w, h, area, margin);
    }
}

/// The zoom that shows the box `lo..hi` in `area` with `margin` around it
/// (at most 1.5: small graphs are not blown up).
fn fit_scale((lo, hi): (Point, Point), area: (Point, Point), margin: f64) -> f64 {
    let bw = (hi.x - lo.x).max(1.0);
    let bh = (hi.y - lo.y).max(1.0);
    let sx = (area.1.x - area.0.x - 2.0 * margin).max(1.0) / bw;
    let sy = (area.1.y - area.0.y - 2.0 * margin).max(1.0) / bh;
    sx.min(sy).clamp(MIN_SCALE, 1.5)
}

/// Where [`Camera::fit_beside`] puts the box: the strip of the canvas
/// beside `cover` in which it shows largest (the larger strip on a tie),
/// or the whole canvas when `cover` is not over it.
pub fn best_area(
    bbox: (Point, Point),
    w: f64,
    h: f64,
    cover: Option<(Point, Point)>,
    margin: f64,
) -> (Point, Point) {
    let p = |x: f64, y: f64| Point { x, y };
    let all = (p(0.0, 0.0), p(w, h));
    // The panel's part of the canvas.
    let Some((c0, c1)) = cover.map(|(a, b)| {
        (
            p(a.x.clamp(0.0, w), a.y.clamp(0.0, h)),
            p(b.x.clamp(0.0, w), b.y.clamp(0.0, h)),
        )
    }) else {
        return all;
    };
    if !(c1.x > c0.x && c1.y > c0.y) {
        return all;
    }
    let strips = [
        (p(0.0, 0.0), p(w, c0.y)),
        (p(0.0, c1.y), p(w, h)),
        (p(0.0, 0.0), p(c0.x, h)),
        (p(c1.x, 0.0), p(w, h)),
    ];
    let size = |a: &(Point, Point)| (a.1.x - a.0.x) * (a.1.y - a.0.y);
    strips
        .into_iter()
        .filter(|a| a.1.x - a.0.x > 2.0 * margin && a.1.y - a.0.y > 2.0 * margin)
        .max_by(|a, b| {
            let (sa, sb) = (fit_scale(bbox, *a, margin), fit_scale(bbox, *b, margin));
            sa.total_cmp(&sb).then(size(a).total_cmp(&size(b)))
        })
        .unwrap_or(all)
}
