//! The point cloud on the GPU, through eframe's glow paint callback.
//!
//! Per new frame the GUI thread hands OpenGL the depth plane (as an `R16UI` texture) and the
//! colour plane (`RGB8`) exactly as the frame holds them; nothing is converted or built per
//! point on the CPU. One point per depth pixel is drawn with no vertex buffer: the vertex
//! shader takes its pixel from `gl_VertexID`, fetches the depth, deprojects it with the
//! frame's intrinsics (`deprojection.rs`) and colours it from the aligned colour pixel or
//! through the turbo colour map. Pixels without depth are dropped beyond the far plane. The
//! grid, the frustum and the markers (`lines.rs`) are a few hundred line vertices per pass.
//!
//! The OpenGL objects are made at the first paint, on the thread that paints, and live in a
//! [`CloudRenderer`] that the view and its callbacks share.

use std::sync::{Arc, Mutex, MutexGuard};

use eframe::egui_glow::{self, glow, ShaderVersion};
use glow::HasContext as _;

use super::camera::Mat4;
use super::deprojection::{glsl_constants, DeprojectionParams, DEPROJECT_GLSL};
use super::lines::Lines;
use crate::colormap::{turbo, DepthRange};
use crate::frame::Frame;

/// How the points are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PointColors {
    /// From the colour pixel the depth pixel is aligned to.
    #[default]
    Image,
    /// By depth, through the turbo colour map over the depth range (as the 2D depth view).
    Depth,
}

const COLOR_MODE_IMAGE: i32 = 0;
const COLOR_MODE_DEPTH: i32 = 1;
/// Entries of the colour map texture.
const COLORMAP_LEN: usize = 256;

/// Everything one paint of the point cloud needs.
pub struct CloudDraw {
    pub frame: Arc<Frame>,
    pub params: DeprojectionParams,
    pub clip_from_world: Mat4,
    /// In physical pixels.
    pub point_size_px: f32,
    pub colors: PointColors,
    pub depth_range: DepthRange,
    pub lines: Lines,
}

/// The OpenGL side of the 3D view, shared by the view and its paint callbacks.
#[derive(Default)]
pub struct CloudRenderer {
    state: Mutex<RendererState>,
}

#[derive(Default)]
enum RendererState {
    #[default]
    NotCreated,
    Ready(Box<CloudGl>),
    Failed(String),
}

impl CloudRenderer {
    fn state(&self) -> MutexGuard<'_, RendererState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The paint callback that draws `draw` into `rect`.
    pub fn paint_callback(
        self: &Arc<Self>,
        rect: egui::Rect,
        draw: CloudDraw,
    ) -> egui::PaintCallback {
        let renderer = Arc::clone(self);
        egui::PaintCallback {
            rect,
            callback: Arc::new(egui_glow::CallbackFn::new(move |_info, painter| {
                renderer.paint(painter, &draw);
            })),
        }
    }

    /// Why the GPU cannot draw the point cloud, once a paint found out.
    pub fn error(&self) -> Option<String> {
        match &*self.state() {
            RendererState::Failed(error) => Some(error.clone()),
            RendererState::NotCreated | RendererState::Ready(_) => None,
        }
    }

    /// Frames uploaded to the GPU so far (each frame once, however often it is drawn).
    pub fn frames_uploaded(&self) -> u64 {
        match &*self.state() {
            RendererState::Ready(gl) => gl.frames_uploaded,
            RendererState::NotCreated | RendererState::Failed(_) => 0,
        }
    }

    /// Frees the OpenGL objects (when the window closes).
    pub fn destroy(&self, gl: &glow::Context) {
        if let RendererState::Ready(cloud) = std::mem::take(&mut *self.state()) {
            cloud.destroy(gl);
        }
    }

    fn paint(&self, painter: &egui_glow::Painter, draw: &CloudDraw) {
        let gl = painter.gl();
        let mut state = self.state();
        if matches!(*state, RendererState::NotCreated) {
            *state = match CloudGl::new(gl) {
                Ok(cloud) => RendererState::Ready(Box::new(cloud)),
                Err(error) => {
                    tracing::error!("the 3D view cannot draw: {error}");
                    RendererState::Failed(error)
                }
            };
        }
        if let RendererState::Ready(cloud) = &mut *state {
            cloud.draw(gl, draw);
        }
    }
}

/// The OpenGL objects.
struct CloudGl {
    points: glow::Program,
    lines: glow::Program,
    /// The points have no attributes, but core profiles draw nothing without a vertex array.
    points_vao: glow::VertexArray,
    lines_vao: glow::VertexArray,
    lines_buffer: glow::Buffer,
    depth: glow::Texture,
    color: glow::Texture,
    colormap: glow::Texture,
    /// The frame in the textures, and their size.
    uploaded: Option<Arc<Frame>>,
    texture_size: [u32; 2],
    frames_uploaded: u64,
    embedded: bool,
}

const POINTS_VERTEX: &str = r#"
uniform usampler2D u_depth;
uniform sampler2D u_color;
uniform sampler2D u_colormap;
uniform int u_width_px;
uniform float u_depth_scale_m;
uniform mat4 u_clip_from_world;
uniform float u_point_size_px;
uniform int u_color_mode;
uniform vec2 u_range_m;
out vec3 v_color;

void main() {
    ivec2 pixel = ivec2(gl_VertexID % u_width_px, gl_VertexID / u_width_px);
    uint units = texelFetch(u_depth, pixel, 0).r;
    if (units == 0u) {
        // Nothing measured: beyond the far plane, so clipped.
        gl_Position = vec4(0.0, 0.0, 2.0, 1.0);
        gl_PointSize = 1.0;
        v_color = vec3(0.0);
        return;
    }
    float depth_m = float(units) * u_depth_scale_m;
    gl_Position = u_clip_from_world * vec4(deproject(pixel, depth_m), 1.0);
    gl_PointSize = u_point_size_px;
    if (u_color_mode == COLOR_MODE_DEPTH) {
        float t = clamp((depth_m - u_range_m.x) / max(u_range_m.y - u_range_m.x, 1e-6), 0.0, 1.0);
        v_color = texelFetch(u_colormap, ivec2(int(t * float(COLORMAP_LEN - 1) + 0.5), 0), 0).rgb;
    } else {
        v_color = texelFetch(u_color, pixel, 0).rgb;
    }
}
"#;

const LINES_VERTEX: &str = r#"
uniform mat4 u_clip_from_world;
in vec3 a_position_m;
in vec3 a_rgb;
out vec3 v_color;

void main() {
    gl_Position = u_clip_from_world * vec4(a_position_m, 1.0);
    v_color = a_rgb;
}
"#;

const FRAGMENT: &str = r#"
in vec3 v_color;
out vec4 f_color;

void main() {
    f_color = vec4(v_color, 1.0);
}
"#;

/// Floats per line vertex: position and colour.
const LINE_VERTEX_FLOATS: usize = 6;

impl CloudGl {
    fn new(gl: &glow::Context) -> Result<Self, String> {
        let version = ShaderVersion::get(gl);
        if !version.is_new_shader_interface() {
            return Err(format!(
                "the 3D view needs OpenGL 3 or OpenGL ES 3 (GLSL 1.30 or newer); this OpenGL offers {version:?}"
            ));
        }
        let embedded = version.is_embedded();
        let mut header = version.version_declaration().to_owned();
        if embedded {
            header += "precision highp float;\nprecision highp int;\nprecision highp usampler2D;\n";
        }
        header += &glsl_constants();
        header += &format!(
            "#define COLOR_MODE_DEPTH {COLOR_MODE_DEPTH}\n#define COLORMAP_LEN {COLORMAP_LEN}\n"
        );
        // SAFETY: plain OpenGL calls on the context eframe paints with, on its thread, with
        // objects this function creates; every source string outlives its call.
        unsafe {
            let points = link_program(
                gl,
                &format!("{header}{DEPROJECT_GLSL}{POINTS_VERTEX}"),
                &format!("{header}{FRAGMENT}"),
                &[],
            )?;
            let lines = link_program(
                gl,
                &format!("{header}{LINES_VERTEX}"),
                &format!("{header}{FRAGMENT}"),
                &[(0, "a_position_m"), (1, "a_rgb")],
            )?;
            let points_vao = gl.create_vertex_array()?;
            let lines_vao = gl.create_vertex_array()?;
            let lines_buffer = gl.create_buffer()?;
            gl.bind_vertex_array(Some(lines_vao));
            gl.bind_buffer(glow::ARRAY_BUFFER, Some(lines_buffer));
            let stride = (LINE_VERTEX_FLOATS * size_of::<f32>()) as i32;
            gl.enable_vertex_attrib_array(0);
            gl.vertex_attrib_pointer_f32(0, 3, glow::FLOAT, false, stride, 0);
            gl.enable_vertex_attrib_array(1);
            gl.vertex_attrib_pointer_f32(
                1,
                3,
                glow::FLOAT,
                false,
                stride,
                3 * size_of::<f32>() as i32,
            );
            gl.bind_vertex_array(None);
            gl.bind_buffer(glow::ARRAY_BUFFER, None);

            let depth = nearest_texture(gl)?;
            let color = nearest_texture(gl)?;
            let colormap = nearest_texture(gl)?;
            let colormap_rgb: Vec<u8> = (0..COLORMAP_LEN)
                .flat_map(|i| {
                    let color = turbo(i as f32 / (COLORMAP_LEN - 1) as f32);
                    [color.r(), color.g(), color.b()]
                })
                .collect();
            gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 1);
            gl.tex_image_2d(
                glow::TEXTURE_2D,
                0,
                glow::RGB8 as i32,
                COLORMAP_LEN as i32,
                1,
                0,
                glow::RGB,
                glow::UNSIGNED_BYTE,
                glow::PixelUnpackData::Slice(Some(&colormap_rgb)),
            );
            gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 4);
            gl.bind_texture(glow::TEXTURE_2D, None);
            Ok(CloudGl {
                points,
                lines,
                points_vao,
                lines_vao,
                lines_buffer,
                depth,
                color,
                colormap,
                uploaded: None,
                texture_size: [0, 0],
                frames_uploaded: 0,
                embedded,
            })
        }
    }

    /// Puts the frame's planes into the textures, once per frame.
    fn upload(&mut self, gl: &glow::Context, frame: &Arc<Frame>) {
        if self
            .uploaded
            .as_ref()
            .is_some_and(|uploaded| Arc::ptr_eq(uploaded, frame))
        {
            return;
        }
        let Some(depth_units) = &frame.depth_units else {
            return;
        };
        let size = [frame.geometry.width, frame.geometry.height];
        let (width, height) = (size[0] as i32, size[1] as i32);
        // SAFETY: a u16 slice seen as its bytes: same memory, u8 has no alignment, every byte
        // pattern is a valid u8, and the length covers exactly the u16s. OpenGL reads client
        // memory in the machine's byte order, which is the order of these u16s.
        let depth_bytes = unsafe {
            std::slice::from_raw_parts(
                depth_units.as_ptr().cast::<u8>(),
                size_of_val(depth_units.as_slice()),
            )
        };
        let reallocate = self.texture_size != size;
        // SAFETY: plain OpenGL calls on eframe's context and thread; the planes match `size`
        // (Frame checks its planes against its geometry) and outlive the calls.
        unsafe {
            gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 1);
            for (texture, internal, format, ty, bytes) in [
                (
                    self.depth,
                    glow::R16UI,
                    glow::RED_INTEGER,
                    glow::UNSIGNED_SHORT,
                    depth_bytes,
                ),
                (
                    self.color,
                    glow::RGB8,
                    glow::RGB,
                    glow::UNSIGNED_BYTE,
                    frame.rgb.as_slice(),
                ),
            ] {
                gl.bind_texture(glow::TEXTURE_2D, Some(texture));
                let pixels = glow::PixelUnpackData::Slice(Some(bytes));
                if reallocate {
                    gl.tex_image_2d(
                        glow::TEXTURE_2D,
                        0,
                        internal as i32,
                        width,
                        height,
                        0,
                        format,
                        ty,
                        pixels,
                    );
                } else {
                    gl.tex_sub_image_2d(
                        glow::TEXTURE_2D,
                        0,
                        0,
                        0,
                        width,
                        height,
                        format,
                        ty,
                        pixels,
                    );
                }
            }
            gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 4);
            gl.bind_texture(glow::TEXTURE_2D, None);
        }
        self.texture_size = size;
        self.uploaded = Some(Arc::clone(frame));
        self.frames_uploaded += 1;
    }

    fn draw(&mut self, gl: &glow::Context, draw: &CloudDraw) {
        self.upload(gl, &draw.frame);
        let point_count = self.texture_size[0] as i32 * self.texture_size[1] as i32;
        let line_data: Vec<f32> = draw
            .lines
            .vertices
            .iter()
            .flat_map(|vertex| {
                let [x, y, z] = vertex.position_m;
                let [r, g, b] = vertex.rgb;
                [x, y, z, r, g, b]
            })
            .collect();
        // SAFETY: plain OpenGL calls on eframe's context and thread, with this renderer's
        // objects; egui restores its own state after the callback.
        unsafe {
            // egui set the viewport to the callback's rect and the scissor to its clip rect: the
            // depth clear stays inside the view.
            gl.enable(glow::DEPTH_TEST);
            gl.depth_func(glow::LEQUAL);
            gl.depth_mask(true);
            gl.clear_depth_f32(1.0);
            gl.clear(glow::DEPTH_BUFFER_BIT);
            gl.disable(glow::BLEND);
            if !self.embedded {
                gl.enable(glow::PROGRAM_POINT_SIZE);
            }

            if point_count > 0 && self.uploaded.is_some() {
                gl.use_program(Some(self.points));
                let uniform = |name: &str| gl.get_uniform_location(self.points, name);
                let params = &draw.params;
                gl.uniform_1_i32(uniform("u_depth").as_ref(), 1);
                gl.uniform_1_i32(uniform("u_color").as_ref(), 2);
                gl.uniform_1_i32(uniform("u_colormap").as_ref(), 3);
                gl.uniform_1_i32(uniform("u_width_px").as_ref(), self.texture_size[0] as i32);
                gl.uniform_1_f32(uniform("u_depth_scale_m").as_ref(), params.depth_scale_m);
                gl.uniform_2_f32_slice(uniform("u_focal_px").as_ref(), &params.focal_px);
                gl.uniform_2_f32_slice(uniform("u_principal_px").as_ref(), &params.principal_px);
                gl.uniform_1_i32(uniform("u_model").as_ref(), params.model);
                gl.uniform_1_f32_slice(uniform("u_coeffs").as_ref(), &params.coeffs);
                gl.uniform_matrix_4_f32_slice(
                    uniform("u_clip_from_world").as_ref(),
                    false,
                    &draw.clip_from_world,
                );
                gl.uniform_1_f32(uniform("u_point_size_px").as_ref(), draw.point_size_px);
                let mode = match draw.colors {
                    PointColors::Image => COLOR_MODE_IMAGE,
                    PointColors::Depth => COLOR_MODE_DEPTH,
                };
                gl.uniform_1_i32(uniform("u_color_mode").as_ref(), mode);
                gl.uniform_2_f32(
                    uniform("u_range_m").as_ref(),
                    draw.depth_range.near_m,
                    draw.depth_range.far_m,
                );
                for (unit, texture) in [(1, self.depth), (2, self.color), (3, self.colormap)] {
                    gl.active_texture(glow::TEXTURE0 + unit);
                    gl.bind_texture(glow::TEXTURE_2D, Some(texture));
                }
                gl.bind_vertex_array(Some(self.points_vao));
                gl.draw_arrays(glow::POINTS, 0, point_count);
                for unit in 1..=3 {
                    gl.active_texture(glow::TEXTURE0 + unit);
                    gl.bind_texture(glow::TEXTURE_2D, None);
                }
                gl.active_texture(glow::TEXTURE0);
            }

            if !line_data.is_empty() {
                gl.use_program(Some(self.lines));
                let location = gl.get_uniform_location(self.lines, "u_clip_from_world");
                gl.uniform_matrix_4_f32_slice(location.as_ref(), false, &draw.clip_from_world);
                gl.bind_vertex_array(Some(self.lines_vao));
                gl.bind_buffer(glow::ARRAY_BUFFER, Some(self.lines_buffer));
                let bytes: Vec<u8> = line_data.iter().flat_map(|v| v.to_ne_bytes()).collect();
                gl.buffer_data_u8_slice(glow::ARRAY_BUFFER, &bytes, glow::STREAM_DRAW);
                gl.draw_arrays(
                    glow::LINES,
                    0,
                    (line_data.len() / LINE_VERTEX_FLOATS) as i32,
                );
                gl.bind_buffer(glow::ARRAY_BUFFER, None);
            }

            gl.bind_vertex_array(None);
            gl.disable(glow::DEPTH_TEST);
            if !self.embedded {
                gl.disable(glow::PROGRAM_POINT_SIZE);
            }
        }
    }

    fn destroy(self, gl: &glow::Context) {
        // SAFETY: deleting this renderer's own objects on eframe's context; nothing uses them
        // afterwards (the renderer state no longer holds them).
        unsafe {
            gl.delete_program(self.points);
            gl.delete_program(self.lines);
            gl.delete_vertex_array(self.points_vao);
            gl.delete_vertex_array(self.lines_vao);
            gl.delete_buffer(self.lines_buffer);
            for texture in [self.depth, self.color, self.colormap] {
                gl.delete_texture(texture);
            }
        }
    }
}

/// A 2D texture read with `texelFetch` only: no filtering, no mipmaps (integer textures must
/// not filter). Left bound.
///
/// # Safety
/// Call on the thread that owns `gl`'s context, with it current.
unsafe fn nearest_texture(gl: &glow::Context) -> Result<glow::Texture, String> {
    // SAFETY: the caller's contract; the texture is this function's own.
    unsafe {
        let texture = gl.create_texture()?;
        gl.bind_texture(glow::TEXTURE_2D, Some(texture));
        for (parameter, value) in [
            (glow::TEXTURE_MIN_FILTER, glow::NEAREST),
            (glow::TEXTURE_MAG_FILTER, glow::NEAREST),
            (glow::TEXTURE_WRAP_S, glow::CLAMP_TO_EDGE),
            (glow::TEXTURE_WRAP_T, glow::CLAMP_TO_EDGE),
        ] {
            gl.tex_parameter_i32(glow::TEXTURE_2D, parameter, value as i32);
        }
        Ok(texture)
    }
}

/// Compiles and links a program; `attributes` are bound to their locations before linking.
///
/// # Safety
/// Call on the thread that owns `gl`'s context, with it current.
unsafe fn link_program(
    gl: &glow::Context,
    vertex_source: &str,
    fragment_source: &str,
    attributes: &[(u32, &str)],
) -> Result<glow::Program, String> {
    // SAFETY: the caller's contract; every object is this function's own.
    unsafe {
        let program = gl.create_program()?;
        let mut shaders = Vec::new();
        for (kind, source, name) in [
            (glow::VERTEX_SHADER, vertex_source, "vertex"),
            (glow::FRAGMENT_SHADER, fragment_source, "fragment"),
        ] {
            let shader = gl.create_shader(kind)?;
            gl.shader_source(shader, source);
            gl.compile_shader(shader);
            if !gl.get_shader_compile_status(shader) {
                let log = gl.get_shader_info_log(shader);
                gl.delete_shader(shader);
                gl.delete_program(program);
                return Err(format!(
                    "the 3D view's {name} shader does not compile: {log}"
                ));
            }
            gl.attach_shader(program, shader);
            shaders.push(shader);
        }
        for &(location, name) in attributes {
            gl.bind_attrib_location(program, location, name);
        }
        gl.link_program(program);
        let linked = gl.get_program_link_status(program);
        for shader in shaders {
            gl.detach_shader(program, shader);
            gl.delete_shader(shader);
        }
        if !linked {
            let log = gl.get_program_info_log(program);
            gl.delete_program(program);
            return Err(format!("the 3D view's shaders do not link: {log}"));
        }
        Ok(program)
    }
}
