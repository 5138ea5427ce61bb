#!/usr/bin/env python3
"""Makes the tray's state icons (assets/tray/*.png, 64 x 64 RGBA) from assets/icon-256.png.

The PNGs are committed: `aaa-tray` embeds them (tray/src/icons.rs). Each is the app icon,
scaled down, with a badge in its lower right corner that says the daemon's state:

    live            green disc
    paused          amber disc with two white bars
    not_publishing  orange disc with a white exclamation mark
    not_running     the icon greyed and faded, a hollow grey ring
    stale           the icon greyed, a red disc with a white cross

Run it after changing the icon (Pillow from PyPI; no network at build time):

    python3 -m venv /tmp/icon-venv && /tmp/icon-venv/bin/pip install pillow
    /tmp/icon-venv/bin/python assets/make_tray_icons.py
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance

ASSETS = Path(__file__).resolve().parent
SOURCE = ASSETS / "icon-256.png"
OUT = ASSETS / "tray"
SIZE_PX = 64
# Drawn this many times larger, then scaled down: smooth edges.
SUPERSAMPLE = 4

GREEN = (46, 158, 68, 255)
AMBER = (230, 170, 20, 255)
ORANGE = (235, 110, 20, 255)
GREY = (120, 120, 120, 255)
RED = (205, 40, 40, 255)
WHITE = (255, 255, 255, 255)


def greyed(icon: Image.Image, opacity: float) -> Image.Image:
    grey = ImageEnhance.Color(icon).enhance(0.0)
    alpha = grey.getchannel("A").point(lambda a: int(a * opacity))
    grey.putalpha(alpha)
    return grey


def badge(state: str) -> Image.Image:
    size = SIZE_PX * SUPERSAMPLE
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    radius = 14 * SUPERSAMPLE
    cx = cy = size - radius - 1 * SUPERSAMPLE
    outline = 3 * SUPERSAMPLE
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    bar = 3 * SUPERSAMPLE
    if state == "not_running":
        draw.ellipse(box, fill=WHITE)
        inner = radius - outline
        draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=GREY)
        hole = inner - 3 * SUPERSAMPLE
        draw.ellipse((cx - hole, cy - hole, cx + hole, cy + hole), fill=WHITE)
        return layer
    colour = {"live": GREEN, "paused": AMBER, "not_publishing": ORANGE, "stale": RED}[state]
    draw.ellipse(box, fill=WHITE)
    inner = radius - outline
    draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=colour)
    if state == "paused":
        half = 5 * SUPERSAMPLE
        for dx in (-4 * SUPERSAMPLE, 2 * SUPERSAMPLE):
            draw.rectangle((cx + dx, cy - half, cx + dx + bar + bar // 2, cy + half), fill=WHITE)
    elif state == "not_publishing":
        draw.rectangle((cx - bar // 2, cy - 7 * SUPERSAMPLE, cx + bar // 2, cy + 2 * SUPERSAMPLE), fill=WHITE)
        draw.ellipse((cx - bar // 2, cy + 4 * SUPERSAMPLE, cx + bar // 2, cy + 4 * SUPERSAMPLE + bar), fill=WHITE)
    elif state == "stale":
        arm = 5 * SUPERSAMPLE
        draw.line((cx - arm, cy - arm, cx + arm, cy + arm), fill=WHITE, width=bar)
        draw.line((cx - arm, cy + arm, cx + arm, cy - arm), fill=WHITE, width=bar)
    return layer


def main() -> None:
    icon = Image.open(SOURCE).convert("RGBA")
    big = icon.resize((SIZE_PX * SUPERSAMPLE, SIZE_PX * SUPERSAMPLE), Image.LANCZOS)
    OUT.mkdir(exist_ok=True)
    for state in ("live", "paused", "not_publishing", "not_running", "stale"):
        base = big
        if state == "not_running":
            base = greyed(big, 0.55)
        elif state == "stale":
            base = greyed(big, 0.8)
        picture = Image.alpha_composite(base, badge(state))
        small = picture.resize((SIZE_PX, SIZE_PX), Image.LANCZOS)
        path = OUT / f"{state}.png"
        small.save(path, optimize=True)
        print(path.relative_to(ASSETS.parent))


if __name__ == "__main__":
    main()
