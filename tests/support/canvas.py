"""Reading what a chart drew in the browser: how many pixels of its canvas are (nearly) one colour."""

from __future__ import annotations

_COUNT = """([selector, r, g, b]) => {
    const canvas = document.querySelector(selector);
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - r) < 24 && Math.abs(data[i + 1] - g) < 24 && Math.abs(data[i + 2] - b) < 24
            && data[i + 3] > 200) n += 1;
    }
    return n;
}"""


def chart_pixels(page, testid: str, rgb: tuple[int, int, int]) -> int:  # type: ignore[no-untyped-def]
    """Pixels of the canvas inside `[data-testid=<testid>]` near `rgb`: the series were drawn, not just axes."""
    return int(page.evaluate(_COUNT, [f"[data-testid={testid}] canvas", *rgb]))
