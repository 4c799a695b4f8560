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
        self.center = Point {
            x: (lo.x + hi.x) / 2.0,
            y: (lo.y + hi.y) / 2.0,
        };
        let bw = (hi.x - lo.x).max(1.0);
        let bh = (hi.y - lo.y).max(1.0);
        let sx = (w - 2.0 * margin).max(1.0) / bw;
        let sy = (h - 2.0 * margin).max(1.0) / bh;
        self.scale = sx.min(sy).clamp(MIN_SCALE, 1.5);
    }
}
