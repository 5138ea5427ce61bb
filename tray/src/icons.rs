//! The state pictures: `assets/tray/*.png` (64 x 64 RGBA, made from the app icon by
//! `assets/make_tray_icons.py`), embedded at compile time and decoded once at start.

use crate::presentation::IconKind;

/// One decoded picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IconImage {
    pub width: u32,
    pub height: u32,
    /// Row-major RGBA, 8 bits a channel.
    pub rgba: Vec<u8>,
}

impl IconImage {
    /// The pixels as StatusNotifierItem wants them: ARGB32 in network byte order
    /// (A, R, G, B per pixel).
    pub fn argb32(&self) -> Vec<u8> {
        self.rgba
            .chunks_exact(4)
            .flat_map(|pixel| [pixel[3], pixel[0], pixel[1], pixel[2]])
            .collect()
    }
}

/// Every state's picture.
#[derive(Debug, Clone)]
pub struct IconSet {
    images: Vec<(IconKind, IconImage)>,
}

fn png_of(kind: IconKind) -> &'static [u8] {
    match kind {
        IconKind::Live => include_bytes!("../../assets/tray/live.png"),
        IconKind::Paused => include_bytes!("../../assets/tray/paused.png"),
        IconKind::NotPublishing => include_bytes!("../../assets/tray/not_publishing.png"),
        IconKind::NotRunning => include_bytes!("../../assets/tray/not_running.png"),
        IconKind::Stale => include_bytes!("../../assets/tray/stale.png"),
    }
}

impl IconSet {
    /// Decodes the embedded pictures.
    pub fn decode() -> Result<Self, image::ImageError> {
        let images = IconKind::ALL
            .into_iter()
            .map(|kind| {
                let image =
                    image::load_from_memory_with_format(png_of(kind), image::ImageFormat::Png)?
                        .into_rgba8();
                let (width, height) = image.dimensions();
                Ok((
                    kind,
                    IconImage {
                        width,
                        height,
                        rgba: image.into_raw(),
                    },
                ))
            })
            .collect::<Result<_, image::ImageError>>()?;
        Ok(IconSet { images })
    }

    pub fn get(&self, kind: IconKind) -> Option<&IconImage> {
        self.images
            .iter()
            .find(|(of, _)| *of == kind)
            .map(|(_, image)| image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_its_own_64px_picture() {
        let icons = IconSet::decode().unwrap();
        let images: Vec<&IconImage> = IconKind::ALL
            .into_iter()
            .map(|kind| icons.get(kind).unwrap())
            .collect();
        for image in &images {
            assert_eq!((image.width, image.height), (64, 64));
            assert_eq!(image.rgba.len(), 64 * 64 * 4);
            let alpha_at = |x: usize, y: usize| image.rgba[(y * 64 + x) * 4 + 3];
            assert_eq!(alpha_at(0, 0), 0, "the corners are transparent");
            assert_eq!(alpha_at(50, 50), 255, "the badge is opaque");
        }
        for (i, a) in images.iter().enumerate() {
            for b in &images[i + 1..] {
                assert_ne!(a.rgba, b.rgba, "two states share a picture");
            }
        }
        // The badge's colour says the state: green when live.
        let live = icons.get(IconKind::Live).unwrap();
        let badge = &live.rgba[(50 * 64 + 50) * 4..][..4];
        assert!(badge[1] > badge[0] && badge[1] > badge[2], "{badge:?}");
    }

    #[test]
    fn argb32_moves_alpha_first() {
        let image = IconImage {
            width: 1,
            height: 2,
            rgba: vec![1, 2, 3, 4, 5, 6, 7, 8],
        };
        assert_eq!(image.argb32(), [4, 1, 2, 3, 8, 5, 6, 7]);
    }
}
