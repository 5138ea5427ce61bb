#!/usr/bin/env python3
"""Renders assets/icon.svg into assets/icon-256.png (256 x 256, RGBA).

The PNG is committed: the app embeds it as its window icon (app/src/icon.rs), and
scripts/install-service.sh installs it as the desktop icon. Run this after changing the SVG:

    python3 -m venv /tmp/icon-venv && /tmp/icon-venv/bin/pip install cairosvg
    /tmp/icon-venv/bin/python assets/make_icon.py [--preview DIR]

cairosvg (from PyPI, with Pillow) needs the cairo library (Debian: libcairo2).
--preview DIR also writes preview.png into DIR: the icon scaled down to 16, 24, 32, 48 and
64 px as a desktop scales it, each also enlarged 4x, to check that it still reads small.
"""

import argparse
import io
import sys
from pathlib import Path

import cairosvg
from PIL import Image

ASSETS = Path(__file__).resolve().parent
SVG = ASSETS / "icon.svg"
PNG = ASSETS / "icon-256.png"
SIZE_PX = 256
PREVIEW_SIZES_PX = (16, 24, 32, 48, 64)


def render(svg: Path, size_px: int) -> Image.Image:
    png = cairosvg.svg2png(url=str(svg), output_width=size_px, output_height=size_px)
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGBA")


def preview(icon: Image.Image, folder: Path) -> Path:
    zoom = 4
    width = sum(size * (zoom + 1) + 16 for size in PREVIEW_SIZES_PX)
    height = max(PREVIEW_SIZES_PX) * zoom + 16
    sheet = Image.new("RGBA", (width, height), (236, 236, 236, 255))
    x = 8
    for size in PREVIEW_SIZES_PX:
        small = icon.resize((size, size), Image.Resampling.LANCZOS)
        sheet.alpha_composite(small, (x, 8))
        big = small.resize((size * zoom, size * zoom), Image.Resampling.NEAREST)
        sheet.alpha_composite(big, (x + size + 4, 8))
        x += size * (zoom + 1) + 16
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "preview.png"
    sheet.save(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preview", type=Path, metavar="DIR", help="also write DIR/preview.png")
    args = parser.parse_args()

    icon = render(SVG, SIZE_PX)
    if icon.size != (SIZE_PX, SIZE_PX):
        print(f"make_icon: rendered {icon.size}, not {SIZE_PX}x{SIZE_PX}", file=sys.stderr)
        return 1
    icon.save(PNG, optimize=True)
    print(f"wrote {PNG.relative_to(ASSETS.parent)} ({SIZE_PX}x{SIZE_PX} RGBA)")
    if args.preview:
        print(f"wrote {preview(icon, args.preview)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
