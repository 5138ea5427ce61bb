//! The 3D view: the depth frame as a point cloud, drawn on the GPU.
//!
//! - `camera.rs`: the orbit camera and its matrices (pure maths);
//! - `deprojection.rs`: the vertex shader's deprojection formula, its constants, and the same
//!   formula on the CPU for tests;
//! - `lines.rs`: the ground grid, the camera frustum and the detection markers as line vertices;
//! - `pick.rs`: the depth pixel drawn under the pointer (one ray on the CPU);
//! - `renderer.rs`: the OpenGL side, through eframe's glow paint callback.
//!
//! The world of the 3D view is the depth camera's frame (metres; x right, y down, z forward).

pub mod camera;
pub mod deprojection;
pub mod lines;
pub mod pick;
pub mod renderer;
