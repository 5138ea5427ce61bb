//! The window icon: `assets/icon-256.png`, embedded at compile time (`assets/make_icon.py`
//! renders it from `assets/icon.svg`; the desktop entry installs the same file).

/// The PNG, 256 x 256 RGBA.
const ICON_PNG: &[u8] = include_bytes!("../../assets/icon-256.png");

/// The window icon, decoded from the embedded PNG.
pub fn window_icon() -> Result<egui::IconData, image::ImageError> {
    let image = image::load_from_memory_with_format(ICON_PNG, image::ImageFormat::Png)?;
    let rgba = image.into_rgba8();
    let (width, height) = rgba.dimensions();
    Ok(egui::IconData {
        rgba: rgba.into_raw(),
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_icon_decodes_to_256x256_rgba() {
        let png = image::load_from_memory_with_format(ICON_PNG, image::ImageFormat::Png).unwrap();
        assert_eq!(
            png.color(),
            image::ColorType::Rgba8,
            "the PNG itself is RGBA"
        );

        let icon = window_icon().unwrap();
        assert_eq!((icon.width, icon.height), (256, 256));
        assert_eq!(icon.rgba.len(), 256 * 256 * 4);
        let alpha_at = |x: usize, y: usize| icon.rgba[(y * 256 + x) * 4 + 3];
        assert_eq!(alpha_at(0, 0), 0, "the corners are transparent");
        assert_eq!(alpha_at(128, 140), 255, "the lens is opaque");
    }
}
