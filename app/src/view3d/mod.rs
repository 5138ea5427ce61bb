//! The 3D view: the depth frame as a point cloud, drawn on the GPU.
//!
//! - `camera.rs`: the orbit camera and its matrices (pure maths);
//! - `deprojection.rs`: the vertex shader's deprojection formula, its constants, and the same
//!   formula on the CPU for tests.
//!
//! The world of the 3D view is the depth camera's frame (metres; x right, y down, z forward).

pub mod camera;
pub mod deprojection;
