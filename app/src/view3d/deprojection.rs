//! Deprojection on the GPU: the vertex shader's formula, its constants, and the same formula on
//! the CPU so that tests can hold it against [`shmproto::Intrinsics::deproject`].
//!
//! The shader gets a frame's intrinsics and depth scale as uniforms ([`DeprojectionParams`]),
//! fetches the depth of pixel `gl_VertexID` from the depth texture and deprojects it. The
//! constants it needs (the pixel-centre offset, the distortion model codes, the iterations of
//! the Brown-Conrady inversion) are defined once here and written into the GLSL source by
//! [`glsl_constants`].

use shmproto::{DistortionModel, Intrinsics};

use crate::frame::PIXEL_CENTRE_OFFSET_PX;

/// The distortion models as the shader numbers them.
pub const MODEL_NONE: i32 = 0;
pub const MODEL_INVERSE_BROWN_CONRADY: i32 = 1;
pub const MODEL_BROWN_CONRADY: i32 = 2;
/// Fixed-point iterations undoing the forward Brown-Conrady model (as librealsense does).
pub const BROWN_CONRADY_ITERATIONS: usize = 10;

/// What the vertex shader knows of a frame: exactly the uniforms it is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeprojectionParams {
    pub width_px: u32,
    pub height_px: u32,
    pub focal_px: [f32; 2],
    pub principal_px: [f32; 2],
    pub model: i32,
    /// [k1, k2, p1, p2, k3].
    pub coeffs: [f32; 5],
    pub depth_scale_m: f32,
}

impl DeprojectionParams {
    pub fn new(intrinsics: &Intrinsics, depth_scale_m: f32) -> Self {
        DeprojectionParams {
            width_px: intrinsics.width,
            height_px: intrinsics.height,
            focal_px: [intrinsics.fx, intrinsics.fy],
            principal_px: [intrinsics.ppx, intrinsics.ppy],
            model: model_code(intrinsics.model),
            coeffs: intrinsics.coeffs,
            depth_scale_m,
        }
    }

    /// The vertex shader's arithmetic on the CPU: the point of pixel (column, row) holding
    /// `depth_units`, `None` where nothing was measured (the shader drops the vertex).
    pub fn deproject_like_shader(
        &self,
        [column, row]: [u32; 2],
        depth_units: u16,
    ) -> Option<[f32; 3]> {
        if depth_units == 0 {
            return None;
        }
        let depth_m = f32::from(depth_units) * self.depth_scale_m;
        let pixel = [
            column as f32 + PIXEL_CENTRE_OFFSET_PX,
            row as f32 + PIXEL_CENTRE_OFFSET_PX,
        ];
        let mut x = (pixel[0] - self.principal_px[0]) / self.focal_px[0];
        let mut y = (pixel[1] - self.principal_px[1]) / self.focal_px[1];
        let [k1, k2, p1, p2, k3] = self.coeffs;
        if self.model == MODEL_INVERSE_BROWN_CONRADY {
            let r2 = x * x + y * y;
            let f = 1.0 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2;
            let ux = x * f + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
            let uy = y * f + 2.0 * p2 * x * y + p1 * (r2 + 2.0 * y * y);
            x = ux;
            y = uy;
        } else if self.model == MODEL_BROWN_CONRADY {
            let (xo, yo) = (x, y);
            for _ in 0..BROWN_CONRADY_ITERATIONS {
                let r2 = x * x + y * y;
                let icdist = 1.0 / (1.0 + ((k3 * r2 + k2) * r2 + k1) * r2);
                let delta_x = 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
                let delta_y = 2.0 * p2 * x * y + p1 * (r2 + 2.0 * y * y);
                x = (xo - delta_x) * icdist;
                y = (yo - delta_y) * icdist;
            }
        }
        Some([depth_m * x, depth_m * y, depth_m])
    }
}

/// The shader's number for a distortion model; models `Intrinsics::deproject` ignores are
/// ignored here too.
pub fn model_code(model: DistortionModel) -> i32 {
    match model {
        DistortionModel::InverseBrownConrady => MODEL_INVERSE_BROWN_CONRADY,
        DistortionModel::BrownConrady => MODEL_BROWN_CONRADY,
        DistortionModel::None | DistortionModel::ModifiedBrownConrady | DistortionModel::Other => {
            MODEL_NONE
        }
    }
}

/// The `#define`s the shader's [`DEPROJECT_GLSL`] uses, from the constants above.
pub fn glsl_constants() -> String {
    format!(
        "#define PIXEL_CENTRE_OFFSET_PX {PIXEL_CENTRE_OFFSET_PX:?}\n\
         #define MODEL_INVERSE_BROWN_CONRADY {MODEL_INVERSE_BROWN_CONRADY}\n\
         #define MODEL_BROWN_CONRADY {MODEL_BROWN_CONRADY}\n\
         #define BROWN_CONRADY_ITERATIONS {BROWN_CONRADY_ITERATIONS}\n"
    )
}

/// The shader's deprojection: [`DeprojectionParams::deproject_like_shader`] in GLSL, over the
/// uniforms `u_focal_px`, `u_principal_px`, `u_model`, `u_coeffs`.
pub const DEPROJECT_GLSL: &str = r#"
uniform vec2 u_focal_px;
uniform vec2 u_principal_px;
uniform int u_model;
uniform float u_coeffs[5];

vec3 deproject(ivec2 pixel_index, float depth_m) {
    vec2 pixel = vec2(pixel_index) + vec2(PIXEL_CENTRE_OFFSET_PX);
    float x = (pixel.x - u_principal_px.x) / u_focal_px.x;
    float y = (pixel.y - u_principal_px.y) / u_focal_px.y;
    float k1 = u_coeffs[0];
    float k2 = u_coeffs[1];
    float p1 = u_coeffs[2];
    float p2 = u_coeffs[3];
    float k3 = u_coeffs[4];
    if (u_model == MODEL_INVERSE_BROWN_CONRADY) {
        float r2 = x * x + y * y;
        float f = 1.0 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2;
        float ux = x * f + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
        float uy = y * f + 2.0 * p2 * x * y + p1 * (r2 + 2.0 * y * y);
        x = ux;
        y = uy;
    } else if (u_model == MODEL_BROWN_CONRADY) {
        float xo = x;
        float yo = y;
        for (int i = 0; i < BROWN_CONRADY_ITERATIONS; ++i) {
            float r2 = x * x + y * y;
            float icdist = 1.0 / (1.0 + ((k3 * r2 + k2) * r2 + k1) * r2);
            float delta_x = 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x);
            float delta_y = 2.0 * p2 * x * y + p1 * (r2 + 2.0 * y * y);
            x = (xo - delta_x) * icdist;
            y = (yo - delta_y) * icdist;
        }
    }
    return vec3(depth_m * x, depth_m * y, depth_m);
}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::pixel_centre_in_image;

    fn intrinsics(model: DistortionModel, coeffs: [f32; 5]) -> Intrinsics {
        Intrinsics {
            width: 640,
            height: 480,
            fx: 615.3,
            fy: 614.8,
            ppx: 321.7,
            ppy: 238.2,
            model,
            coeffs,
        }
    }

    /// For every model, the shader's formula (on the CPU, with the very uniforms the shader
    /// gets) gives the point `Intrinsics::deproject` gives at the pixel's centre.
    #[test]
    fn the_shader_formula_matches_intrinsics_deproject() {
        let coeffs = [0.12, -0.25, 0.0012, -0.0008, 0.09];
        let cases = [
            (DistortionModel::None, [0.0; 5]),
            (DistortionModel::InverseBrownConrady, coeffs),
            (DistortionModel::BrownConrady, coeffs),
            (DistortionModel::ModifiedBrownConrady, coeffs),
            (DistortionModel::Other, coeffs),
        ];
        let pixels = [
            [0, 0],
            [639, 479],
            [320, 240],
            [17, 400],
            [600, 33],
            [321, 238],
        ];
        for (model, coeffs) in cases {
            let intrinsics = intrinsics(model, coeffs);
            let params = DeprojectionParams::new(&intrinsics, 0.001);
            for pixel in pixels {
                for units in [1u16, 437, 1500, 8000, 65535] {
                    let shader = params.deproject_like_shader(pixel, units).unwrap();
                    let depth_m = f32::from(units) * 0.001;
                    let cpu = intrinsics.deproject(pixel_centre_in_image(pixel), depth_m);
                    for axis in 0..3 {
                        let tolerance = 1e-5 * cpu[axis].abs().max(1e-3);
                        assert!(
                            (shader[axis] - cpu[axis]).abs() <= tolerance,
                            "{model:?} pixel {pixel:?} units {units}: {shader:?} vs {cpu:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn pixels_without_depth_are_dropped() {
        let params = DeprojectionParams::new(&intrinsics(DistortionModel::None, [0.0; 5]), 0.001);
        assert_eq!(params.deproject_like_shader([5, 5], 0), None);
    }

    /// The optical axis passes through the principal point: with the project's pixel-centre
    /// convention the pixel whose centre is the principal point lies on it.
    #[test]
    fn the_principal_pixel_lies_on_the_optical_axis() {
        let intrinsics = Intrinsics::pinhole_from_fov(641, 481, 69.0);
        let params = DeprojectionParams::new(&intrinsics, 0.001);
        assert_eq!(
            params.deproject_like_shader([320, 240], 2000),
            Some([0.0, 0.0, 2.0])
        );
    }

    #[test]
    fn the_glsl_is_built_from_the_rust_constants() {
        let constants = glsl_constants();
        assert!(constants.contains(&format!(
            "#define PIXEL_CENTRE_OFFSET_PX {PIXEL_CENTRE_OFFSET_PX:?}\n"
        )));
        assert!(constants.contains("#define BROWN_CONRADY_ITERATIONS 10\n"));
        // A float literal GLSL accepts.
        assert!(
            constants.contains("PIXEL_CENTRE_OFFSET_PX 0.0\n"),
            "{constants}"
        );
        for name in [
            "PIXEL_CENTRE_OFFSET_PX",
            "MODEL_INVERSE_BROWN_CONRADY",
            "MODEL_BROWN_CONRADY",
            "BROWN_CONRADY_ITERATIONS",
        ] {
            assert!(DEPROJECT_GLSL.contains(name), "{name}");
        }
    }
}
