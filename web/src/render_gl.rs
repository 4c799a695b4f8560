//! Paints a [`Scene`] with WebGL2: edges as ribbons of quads that follow
//! the same quadratic curve as the Canvas 2D renderer (or one straight
//! quad when the scene says so), arrowheads as triangles, nodes (and
//! self-loops) as quads whose fragment shader cuts a disc with its outline.
//! Colours come from [`crate::palette`], parsed once per frame into a
//! uniform array; every instance names a colour by index.
//!
//! Key decision: instances are pulled, not instanced. Each instance is one
//! 8-float record; all records of a frame go to the GPU in one upload from
//! one `Float32Array` (no per-edge JavaScript call) into a float texture,
//! and one plain `drawArrays` per kind builds every quad from
//! `gl_VertexID` and `texelFetch`. Instanced attributes (`vertexAttribDivisor`)
//! cost about 30 µs per instance on SwiftShader, the software GPU of
//! headless Chromium (10,000 node discs: 270 ms), which is what a machine
//! without a GPU runs; pulling costs the same on a real GPU.
//!
//! Labels are not drawn here: the map draws them on a Canvas 2D layer
//! above ([`crate::render::paint_labels`]).
//!
//! [`Backend::open`] picks the renderer and falls back to Canvas 2D (and
//! says why on the console) when WebGL2 is unavailable or a shader fails.

use wasm_bindgen::JsCast;
use web_sys::{
    HtmlCanvasElement, WebGl2RenderingContext as Gl, WebGlProgram, WebGlShader, WebGlTexture,
    WebGlUniformLocation, WebGlVertexArrayObject,
};

use crate::error::WebError;
use crate::geometry::Point;
use crate::palette::{rgba, EDGE_COLOURS, NODE_COLOURS};
use crate::scene::{EdgePath, EdgeShape, Frame, Scene, Theme};
use crate::view_state::Renderer;

/// Segments of a curved edge's ribbon.
pub const CURVE_SEGMENTS: usize = 8;

/// Palette layout in the shaders' uniform array: node colours, edge
/// colours, then the theme's node outline.
pub const EDGE_COLOUR_BASE: usize = NODE_COLOURS.len();
pub const OUTLINE_COLOUR: usize = EDGE_COLOUR_BASE + EDGE_COLOURS.len();
pub const PALETTE_LEN: usize = OUTLINE_COLOUR + 1;

/// Floats per record (two RGBA texels): edge (start, ctrl | end, width,
/// colour), arrow (tip, dir | len, colour, -, -), disc (centre, radius,
/// fill or -1 | outline width, outline colour, -, -).
pub const RECORD_FLOATS: usize = 8;
/// Width of the record texture in texels (a record never straddles rows).
pub const TEXTURE_WIDTH: usize = 2048;
/// Rows of the record texture at most: records beyond are not drawn.
pub const TEXTURE_MAX_ROWS: usize = 2048;
/// Records a frame can hold.
pub const MAX_RECORDS: usize = TEXTURE_WIDTH * TEXTURE_MAX_ROWS / 2;

/// Vertices per record: a quad is two triangles.
pub const QUAD_VERTICES: usize = 6;
pub const ARROW_VERTICES: usize = 3;

/// The palette as RGBA rows for the uniform array (unparsable: grey).
pub fn palette(theme: &Theme) -> Vec<f32> {
    let grey = [0.5, 0.5, 0.5, 1.0];
    NODE_COLOURS
        .iter()
        .chain(EDGE_COLOURS.iter())
        .chain(std::iter::once(&theme.node_stroke))
        .flat_map(|c| rgba(c).unwrap_or(grey))
        .collect()
}

/// A run of records inside [`Instances::data`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Section {
    /// Index of the first record.
    pub first: usize,
    pub count: usize,
}

impl Section {
    /// The part of the section below `limit` records.
    pub fn clip(self, limit: usize) -> Section {
        Section {
            first: self.first,
            count: self.count.min(limit.saturating_sub(self.first)),
        }
    }
}

/// A frame's records: one float buffer, sections in drawing order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Instances {
    pub data: Vec<f32>,
    /// Self-loops (rings, drawn with the disc program under the edges).
    pub loops: Section,
    pub curves: Section,
    pub straight: Section,
    pub arrows: Section,
    pub nodes: Section,
}

fn colour_of(e: &EdgeShape) -> f32 {
    (EDGE_COLOUR_BASE + usize::from(e.key.colour)) as f32
}

impl Instances {
    /// Fills the buffer from `scene` (reusing its allocation).
    pub fn build(&mut self, scene: &Scene) {
        self.data.clear();
        let d = &mut self.data;
        let section = |d: &Vec<f32>, first: usize| Section {
            first,
            count: d.len() / RECORD_FLOATS - first,
        };
        let at = d.len() / RECORD_FLOATS;
        for e in &scene.edges {
            if let EdgePath::Loop { centre, radius } = e.path {
                d.extend_from_slice(&[
                    centre.x as f32,
                    centre.y as f32,
                    radius as f32,
                    -1.0,
                    e.width() as f32,
                    colour_of(e),
                    0.0,
                    0.0,
                ]);
            }
        }
        self.loops = section(d, at);
        let at = d.len() / RECORD_FLOATS;
        for e in &scene.edges {
            if let EdgePath::Curve { start, ctrl, end } = e.path {
                push_edge(d, start, ctrl, end, e);
            }
        }
        self.curves = section(d, at);
        let at = d.len() / RECORD_FLOATS;
        for e in &scene.edges {
            if let EdgePath::Straight { start, end } = e.path {
                let mid = Point {
                    x: (start.x + end.x) / 2.0,
                    y: (start.y + end.y) / 2.0,
                };
                push_edge(d, start, mid, end, e);
            }
        }
        self.straight = section(d, at);
        let at = d.len() / RECORD_FLOATS;
        for e in &scene.edges {
            if let Some(a) = e.arrow {
                d.extend_from_slice(&[
                    a.tip.x as f32,
                    a.tip.y as f32,
                    a.dir.x as f32,
                    a.dir.y as f32,
                    a.len as f32,
                    colour_of(e),
                    0.0,
                    0.0,
                ]);
            }
        }
        self.arrows = section(d, at);
        let at = d.len() / RECORD_FLOATS;
        for n in &scene.nodes {
            d.extend_from_slice(&[
                n.centre.x as f32,
                n.centre.y as f32,
                n.radius as f32,
                f32::from(n.colour),
                n.outline as f32,
                OUTLINE_COLOUR as f32,
                0.0,
                0.0,
            ]);
        }
        self.nodes = section(d, at);
    }

    /// Records in the buffer.
    pub fn records(&self) -> usize {
        self.data.len() / RECORD_FLOATS
    }
}

fn push_edge(d: &mut Vec<f32>, start: Point, ctrl: Point, end: Point, e: &EdgeShape) {
    d.extend_from_slice(&[
        start.x as f32,
        start.y as f32,
        ctrl.x as f32,
        ctrl.y as f32,
        end.x as f32,
        end.y as f32,
        e.width() as f32,
        colour_of(e),
    ]);
}

/// Rows of the record texture for `records` records (at least one).
pub fn texture_rows(records: usize) -> usize {
    (records * 2)
        .div_ceil(TEXTURE_WIDTH)
        .clamp(1, TEXTURE_MAX_ROWS)
}

const COMMON_VS: &str = "#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
uniform sampler2D u_data;
uniform int u_first;
uniform vec2 u_view;
uniform float u_px;
uniform vec4 u_palette[PALETTE_LEN];
// Corners of a quad as two triangles: (along 0..1, across -1..1).
const vec2 QUAD[6] = vec2[6](vec2(0.0, -1.0), vec2(0.0, 1.0), vec2(1.0, -1.0),
                             vec2(1.0, -1.0), vec2(0.0, 1.0), vec2(1.0, 1.0));
void record(int i, out vec4 a, out vec4 b) {
  int texel = (u_first + i) * 2;
  ivec2 at = ivec2(texel % TEXTURE_WIDTH, texel / TEXTURE_WIDTH);
  a = texelFetch(u_data, at, 0);
  b = texelFetch(u_data, at + ivec2(1, 0), 0);
}
vec4 to_clip(vec2 p) {
  vec2 c = p / u_view * 2.0 - 1.0;
  return vec4(c.x, -c.y, 0.0, 1.0);
}
vec4 colour(float i) {
  return u_palette[clamp(int(i + 0.5), 0, PALETTE_LEN - 1)];
}
";

const EDGE_VS: &str = "
uniform int u_segments;
out vec4 v_colour;
out float v_across;
out float v_hw;
void main() {
  int per = 6 * u_segments;
  int corner = gl_VertexID % per;
  vec4 a;
  vec4 b;
  record(gl_VertexID / per, a, b);
  vec2 q = QUAD[corner % 6];
  float t = (float(corner / 6) + q.x) / float(u_segments);
  vec2 s = a.xy;
  vec2 c = a.zw;
  vec2 e = b.xy;
  float u = 1.0 - t;
  vec2 p = u * u * s + 2.0 * u * t * c + t * t * e;
  vec2 d = 2.0 * u * (c - s) + 2.0 * t * (e - c);
  if (length(d) < 1e-6) { d = e - s; }
  if (length(d) < 1e-6) { d = vec2(1.0, 0.0); }
  vec2 dir = normalize(d);
  vec2 n = vec2(-dir.y, dir.x);
  v_hw = 0.5 * b.z;
  v_across = q.y * (v_hw + u_px);
  v_colour = colour(b.w);
  gl_Position = to_clip(p + n * v_across);
}
";

const EDGE_FS: &str = "#version 300 es
precision highp float;
in vec4 v_colour;
in float v_across;
in float v_hw;
uniform float u_px;
out vec4 o;
void main() {
  float cov = clamp((v_hw - abs(v_across)) / u_px + 0.5, 0.0, 1.0);
  o = vec4(v_colour.rgb, v_colour.a * cov);
}
";

const ARROW_VS: &str = "
out vec4 v_colour;
const vec2 TRI[3] = vec2[3](vec2(0.0, 0.0), vec2(-1.0, 0.45), vec2(-1.0, -0.45));
void main() {
  vec4 a;
  vec4 b;
  record(gl_VertexID / 3, a, b);
  vec2 m = TRI[gl_VertexID % 3];
  vec2 dir = a.zw;
  vec2 n = vec2(-dir.y, dir.x);
  v_colour = colour(b.y);
  gl_Position = to_clip(a.xy + (dir * m.x + n * m.y) * b.x);
}
";

const FLAT_FS: &str = "#version 300 es
precision highp float;
in vec4 v_colour;
out vec4 o;
void main() {
  o = v_colour;
}
";

const DISC_VS: &str = "
out vec4 v_fill;
out vec4 v_line;
out vec2 v_local;
out float v_r;
out float v_lw;
out float v_has_fill;
void main() {
  vec4 a;
  vec4 b;
  record(gl_VertexID / 6, a, b);
  vec2 q = QUAD[gl_VertexID % 6];
  v_r = a.z;
  v_lw = b.x;
  float ext = v_r + 0.5 * v_lw + u_px;
  v_local = vec2(q.x * 2.0 - 1.0, q.y) * ext;
  v_has_fill = a.w < 0.0 ? 0.0 : 1.0;
  v_fill = colour(max(a.w, 0.0));
  v_line = colour(b.y);
  gl_Position = to_clip(a.xy + v_local);
}
";

const DISC_FS: &str = "#version 300 es
precision highp float;
in vec4 v_fill;
in vec4 v_line;
in vec2 v_local;
in float v_r;
in float v_lw;
in float v_has_fill;
uniform float u_px;
out vec4 o;
void main() {
  float d = length(v_local);
  float outer = clamp((v_r + 0.5 * v_lw - d) / u_px + 0.5, 0.0, 1.0);
  float inner = clamp((v_r - 0.5 * v_lw - d) / u_px + 0.5, 0.0, 1.0);
  if (outer <= 0.0) { discard; }
  vec4 c = mix(v_line, v_fill, inner * v_has_fill);
  float a = v_has_fill > 0.5 ? outer : outer * (1.0 - inner);
  o = vec4(c.rgb, c.a * a);
}
";

/// A linked program and its uniforms.
#[derive(Debug)]
struct Program {
    program: WebGlProgram,
    first: Option<WebGlUniformLocation>,
    segments: Option<WebGlUniformLocation>,
    view: Option<WebGlUniformLocation>,
    px: Option<WebGlUniformLocation>,
    palette: Option<WebGlUniformLocation>,
    data: Option<WebGlUniformLocation>,
}

fn compile(gl: &Gl, kind: u32, src: &str, name: &str) -> Result<WebGlShader, WebError> {
    let sh = gl
        .create_shader(kind)
        .ok_or_else(|| WebError::WebGl(format!("cannot create the {name} shader")))?;
    gl.shader_source(&sh, src);
    gl.compile_shader(&sh);
    if gl
        .get_shader_parameter(&sh, Gl::COMPILE_STATUS)
        .as_bool()
        .unwrap_or(false)
    {
        Ok(sh)
    } else {
        let log = gl.get_shader_info_log(&sh).unwrap_or_default();
        gl.delete_shader(Some(&sh));
        Err(WebError::WebGl(format!(
            "the {name} shader does not compile: {log}"
        )))
    }
}

/// The vertex shader source: common part with its constants, then `body`.
pub fn vertex_source(body: &str) -> String {
    format!(
        "{}{}",
        COMMON_VS
            .replace("PALETTE_LEN", &PALETTE_LEN.to_string())
            .replace("TEXTURE_WIDTH", &TEXTURE_WIDTH.to_string()),
        body
    )
}

fn program(gl: &Gl, vs_body: &str, fs: &str, name: &str) -> Result<Program, WebError> {
    let vs = compile(
        gl,
        Gl::VERTEX_SHADER,
        &vertex_source(vs_body),
        &format!("{name} vertex"),
    )?;
    let fs = compile(gl, Gl::FRAGMENT_SHADER, fs, &format!("{name} fragment"))?;
    let p = gl
        .create_program()
        .ok_or_else(|| WebError::WebGl(format!("cannot create the {name} program")))?;
    gl.attach_shader(&p, &vs);
    gl.attach_shader(&p, &fs);
    gl.link_program(&p);
    gl.delete_shader(Some(&vs));
    gl.delete_shader(Some(&fs));
    if !gl
        .get_program_parameter(&p, Gl::LINK_STATUS)
        .as_bool()
        .unwrap_or(false)
    {
        let log = gl.get_program_info_log(&p).unwrap_or_default();
        return Err(WebError::WebGl(format!(
            "the {name} program does not link: {log}"
        )));
    }
    Ok(Program {
        first: gl.get_uniform_location(&p, "u_first"),
        segments: gl.get_uniform_location(&p, "u_segments"),
        view: gl.get_uniform_location(&p, "u_view"),
        px: gl.get_uniform_location(&p, "u_px"),
        palette: gl.get_uniform_location(&p, "u_palette"),
        data: gl.get_uniform_location(&p, "u_data"),
        program: p,
    })
}

/// The WebGL2 renderer of one canvas.
#[derive(Debug)]
pub struct GlRenderer {
    gl: Gl,
    canvas: HtmlCanvasElement,
    edge: Program,
    arrow: Program,
    disc: Program,
    /// An empty vertex array: every vertex comes from `gl_VertexID`.
    vao: WebGlVertexArrayObject,
    /// The frame's records, as RGBA32F texels.
    records: WebGlTexture,
    /// Reused JS-side staging array (grows, never shrinks).
    staging: js_sys::Float32Array,
    data: Instances,
}

/// The context attributes: opaque (the map has a background), no MSAA (the
/// shaders smooth edges themselves), and a preserved drawing buffer so PNG
/// export and pixel reads see the last frame.
fn context_options() -> web_sys::WebGlContextAttributes {
    let a = web_sys::WebGlContextAttributes::new();
    a.set_alpha(false);
    a.set_antialias(false);
    a.set_depth(false);
    a.set_stencil(false);
    a.set_preserve_drawing_buffer(true);
    a
}

impl GlRenderer {
    /// A renderer on `canvas`; fails when WebGL2 is unavailable (also when
    /// the canvas already has another kind of context) or a shader fails.
    pub fn new(canvas: &HtmlCanvasElement) -> Result<GlRenderer, WebError> {
        let ctx = canvas
            .get_context_with_context_options("webgl2", &context_options())
            .map_err(|e| WebError::js("getContext(webgl2)", &e))?
            .ok_or_else(|| {
                WebError::WebGl(
                    "no WebGL2 context (unsupported, blocked, or the canvas has another context)"
                        .into(),
                )
            })?;
        let gl: Gl = ctx
            .dyn_into()
            .map_err(|_| WebError::WebGl("the context is not a WebGL2 context".into()))?;
        if gl.is_context_lost() {
            return Err(WebError::WebGl("the context is lost".into()));
        }
        let edge = program(&gl, EDGE_VS, EDGE_FS, "edge")?;
        let arrow = program(&gl, ARROW_VS, FLAT_FS, "arrow")?;
        let disc = program(&gl, DISC_VS, DISC_FS, "disc")?;
        let vao = gl
            .create_vertex_array()
            .ok_or_else(|| WebError::WebGl("cannot create a vertex array".into()))?;
        let records = gl
            .create_texture()
            .ok_or_else(|| WebError::WebGl("cannot create a texture".into()))?;
        gl.active_texture(Gl::TEXTURE0);
        gl.bind_texture(Gl::TEXTURE_2D, Some(&records));
        for (k, v) in [
            (Gl::TEXTURE_MIN_FILTER, Gl::NEAREST),
            (Gl::TEXTURE_MAG_FILTER, Gl::NEAREST),
            (Gl::TEXTURE_WRAP_S, Gl::CLAMP_TO_EDGE),
            (Gl::TEXTURE_WRAP_T, Gl::CLAMP_TO_EDGE),
        ] {
            gl.tex_parameteri(Gl::TEXTURE_2D, k, v as i32);
        }
        for p in [&edge, &arrow, &disc] {
            gl.use_program(Some(&p.program));
            gl.uniform1i(p.data.as_ref(), 0);
        }
        Ok(GlRenderer {
            gl,
            canvas: canvas.clone(),
            edge,
            arrow,
            disc,
            vao,
            records,
            staging: js_sys::Float32Array::new_with_length(0),
            data: Instances::default(),
        })
    }

    /// The canvas it draws on.
    pub fn canvas(&self) -> &HtmlCanvasElement {
        &self.canvas
    }

    /// The context (tests and benches read pixels from it).
    pub fn context(&self) -> &Gl {
        &self.gl
    }

    /// Has the browser taken the context away?
    pub fn is_lost(&self) -> bool {
        self.gl.is_context_lost()
    }

    /// Paints `scene` (built from `f`) on the whole drawing buffer.
    pub fn paint(&mut self, f: &Frame<'_>, scene: &Scene) {
        let gl = &self.gl;
        let (pw, ph) = (self.canvas.width() as i32, self.canvas.height() as i32);
        gl.viewport(0, 0, pw, ph);
        let bg = rgba(f.theme.background).unwrap_or([1.0; 4]);
        gl.clear_color(bg[0], bg[1], bg[2], 1.0);
        gl.clear(Gl::COLOR_BUFFER_BIT);
        if scene.edges.is_empty() && scene.nodes.is_empty() {
            return;
        }
        self.data.build(scene);
        // One upload of every record, padded to whole texture rows.
        let rows = texture_rows(self.data.records());
        let texels = (rows * TEXTURE_WIDTH) as u32;
        let len = (self.data.data.len() as u32).min(texels * 4);
        if self.staging.length() < texels * 4 {
            self.staging = js_sys::Float32Array::new_with_length((texels * 4).next_power_of_two());
        }
        self.staging
            .subarray(0, len)
            .copy_from(&self.data.data[..len as usize]);
        let upload = self.staging.subarray(0, texels * 4);
        gl.active_texture(Gl::TEXTURE0);
        gl.bind_texture(Gl::TEXTURE_2D, Some(&self.records));
        if let Err(e) = gl
            .tex_image_2d_with_i32_and_i32_and_i32_and_format_and_type_and_opt_array_buffer_view(
                Gl::TEXTURE_2D,
                0,
                Gl::RGBA32F as i32,
                TEXTURE_WIDTH as i32,
                rows as i32,
                0,
                Gl::RGBA,
                Gl::FLOAT,
                Some(&upload),
            )
        {
            web_sys::console::warn_1(&e);
            return;
        }
        gl.bind_vertex_array(Some(&self.vao));
        gl.enable(Gl::BLEND);
        gl.blend_func(Gl::SRC_ALPHA, Gl::ONE_MINUS_SRC_ALPHA);
        let pal = palette(&f.theme);
        let dpr = f.dpr.max(0.1);
        let px = (1.0 / dpr) as f32;
        let (vw, vh) = (f64::from(pw) / dpr, f64::from(ph) / dpr);
        for p in [&self.edge, &self.arrow, &self.disc] {
            gl.use_program(Some(&p.program));
            gl.uniform2f(p.view.as_ref(), vw as f32, vh as f32);
            gl.uniform1f(p.px.as_ref(), px);
            gl.uniform4fv_with_f32_array(p.palette.as_ref(), &pal);
        }
        let limit = (texels / 2) as usize;
        let i = &self.data;
        self.run(&self.disc, i.loops.clip(limit), QUAD_VERTICES, 1);
        self.run(
            &self.edge,
            i.curves.clip(limit),
            QUAD_VERTICES,
            CURVE_SEGMENTS,
        );
        self.run(&self.edge, i.straight.clip(limit), QUAD_VERTICES, 1);
        self.run(&self.arrow, i.arrows.clip(limit), ARROW_VERTICES, 1);
        self.run(&self.disc, i.nodes.clip(limit), QUAD_VERTICES, 1);
        gl.bind_vertex_array(None);
    }

    /// One draw of every record of `sec`: `per` vertices × `segments` each.
    fn run(&self, p: &Program, sec: Section, per: usize, segments: usize) {
        if sec.count == 0 {
            return;
        }
        let gl = &self.gl;
        gl.use_program(Some(&p.program));
        gl.uniform1i(p.first.as_ref(), sec.first as i32);
        gl.uniform1i(p.segments.as_ref(), segments as i32);
        let vertices = sec.count * per * segments;
        gl.draw_arrays(Gl::TRIANGLES, 0, vertices.min(i32::MAX as usize) as i32);
    }

    /// The RGBA of the drawing-buffer pixel at CSS point (`x`, `y`) (tests,
    /// benches: it also waits for the frame to finish).
    pub fn read_pixel(&self, x: f64, y: f64, dpr: f64) -> Option<[u8; 4]> {
        let h = self.canvas.height() as i32;
        let px = (x * dpr).floor() as i32;
        let py = h - 1 - (y * dpr).floor() as i32;
        let mut out = [0u8; 4];
        self.gl
            .read_pixels_with_opt_u8_array(
                px,
                py,
                1,
                1,
                Gl::RGBA,
                Gl::UNSIGNED_BYTE,
                Some(&mut out),
            )
            .ok()?;
        Some(out)
    }
}

/// The renderer a map canvas uses.
#[derive(Debug)]
pub enum Backend {
    Canvas2d,
    WebGl2(Box<GlRenderer>),
    /// Shapes rasterised in WASM ([`crate::raster`]), through the scene
    /// cache like Canvas 2D.
    Raster,
}

impl Backend {
    /// The renderer `choice` on `gl_canvas` (only used for WebGL2); when
    /// WebGL2 cannot start, logs why and falls back to Canvas 2D.
    pub fn open(choice: Renderer, gl_canvas: &HtmlCanvasElement) -> Backend {
        match choice {
            Renderer::Canvas2d => Backend::Canvas2d,
            Renderer::Raster => Backend::Raster,
            Renderer::WebGl2 => match GlRenderer::new(gl_canvas) {
                Ok(r) => Backend::WebGl2(Box::new(r)),
                Err(e) => {
                    web_sys::console::warn_1(
                        &format!("wiremap: {e}; drawing with Canvas 2D instead").into(),
                    );
                    Backend::Canvas2d
                }
            },
        }
    }

    /// Which renderer it is.
    pub fn renderer(&self) -> Renderer {
        match self {
            Backend::Canvas2d => Renderer::Canvas2d,
            Backend::WebGl2(_) => Renderer::WebGl2,
            Backend::Raster => Renderer::Raster,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::{Arrow, BatchKey, NodeShape};
    use wasm_bindgen_test::wasm_bindgen_test;

    fn p(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    fn edge(path: EdgePath, colour: u8, arrow: bool) -> EdgeShape {
        EdgeShape {
            edge: 0,
            path,
            key: BatchKey { colour, width: 8 },
            arrow: arrow.then_some(Arrow {
                tip: p(9.0, 0.0),
                dir: p(1.0, 0.0),
                len: 12.0,
            }),
            mid: p(0.0, 0.0),
        }
    }

    #[wasm_bindgen_test]
    fn instances_are_sectioned_in_drawing_order() {
        let scene = Scene {
            lod: None,
            edges: vec![
                edge(
                    EdgePath::Straight {
                        start: p(0.0, 0.0),
                        end: p(10.0, 0.0),
                    },
                    3,
                    true,
                ),
                edge(
                    EdgePath::Curve {
                        start: p(1.0, 2.0),
                        ctrl: p(3.0, 4.0),
                        end: p(5.0, 6.0),
                    },
                    0,
                    false,
                ),
                edge(
                    EdgePath::Loop {
                        centre: p(7.0, 8.0),
                        radius: 5.0,
                    },
                    1,
                    false,
                ),
            ],
            nodes: vec![NodeShape {
                node: 0,
                centre: p(20.0, 30.0),
                radius: 7.0,
                colour: 4,
                outline: 3.0,
            }],
            edge_labels: vec![],
            node_labels: vec![],
            budget: None,
        };
        let mut i = Instances::default();
        i.build(&scene);
        let one = |first| Section { first, count: 1 };
        assert_eq!(i.loops, one(0));
        assert_eq!(i.curves, one(1));
        assert_eq!(i.straight, one(2));
        assert_eq!(i.arrows, one(3));
        assert_eq!(i.nodes, one(4));
        assert_eq!(i.records(), 5);
        assert_eq!(i.data.len(), 5 * RECORD_FLOATS);
        // Loop: ring with no fill, the edge's colour and width.
        let base = EDGE_COLOUR_BASE as f32;
        assert_eq!(
            &i.data[0..8],
            &[7.0, 8.0, 5.0, -1.0, 2.0, base + 1.0, 0.0, 0.0]
        );
        assert_eq!(&i.data[8..16], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.0, base]);
        // A straight edge's control point is its midpoint.
        assert_eq!(
            &i.data[16..24],
            &[0.0, 0.0, 5.0, 0.0, 10.0, 0.0, 2.0, base + 3.0]
        );
        assert_eq!(
            &i.data[24..32],
            &[9.0, 0.0, 1.0, 0.0, 12.0, base + 3.0, 0.0, 0.0]
        );
        assert_eq!(
            &i.data[32..40],
            &[20.0, 30.0, 7.0, 4.0, 3.0, OUTLINE_COLOUR as f32, 0.0, 0.0]
        );
        // Rebuilding reuses the buffer and does not append.
        i.build(&scene);
        assert_eq!(i.records(), 5);
    }

    #[wasm_bindgen_test]
    fn palette_rows_follow_the_index_layout() {
        let pal = palette(&crate::scene::DARK);
        assert_eq!(pal.len(), PALETTE_LEN * 4);
        let row = |i: usize| [pal[i * 4], pal[i * 4 + 1], pal[i * 4 + 2], pal[i * 4 + 3]];
        assert_eq!(Some(row(0)), rgba(NODE_COLOURS[0]));
        assert_eq!(Some(row(EDGE_COLOUR_BASE)), rgba(EDGE_COLOURS[0]));
        assert_eq!(
            Some(row(OUTLINE_COLOUR)),
            rgba(crate::scene::DARK.node_stroke)
        );
    }

    #[wasm_bindgen_test]
    fn texture_rows_hold_every_record_up_to_the_cap() {
        assert_eq!(texture_rows(0), 1);
        assert_eq!(texture_rows(TEXTURE_WIDTH / 2), 1);
        assert_eq!(texture_rows(TEXTURE_WIDTH / 2 + 1), 2);
        assert_eq!(texture_rows(usize::MAX / 4), TEXTURE_MAX_ROWS);
        let s = Section {
            first: 10,
            count: 5,
        };
        assert_eq!(s.clip(100), s);
        assert_eq!(
            s.clip(12),
            Section {
                first: 10,
                count: 2
            }
        );
        assert_eq!(s.clip(3).count, 0);
    }

    #[wasm_bindgen_test]
    fn vertex_source_has_its_constants() {
        let src = vertex_source(EDGE_VS);
        assert!(src.starts_with("#version 300 es"));
        assert!(src.contains(&format!("u_palette[{PALETTE_LEN}]")));
        assert!(!src.contains("TEXTURE_WIDTH"));
        assert!(!src.contains("PALETTE_LEN"));
    }
}
