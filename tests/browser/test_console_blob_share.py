"""The console downloads media at most four at a time (desk/static/console-api.js): a transcript of many
photos would otherwise pass the agent's share of requests at once (HANDOVER_REQUESTS_PER_AGENT, 20; issue
28, item 5) behind an HTTP/2 proxy, and the last photos would fail with 429."""

from __future__ import annotations

import pytest

from tests.browser.conftest import new_page

pytestmark = pytest.mark.browser

MOST_AT_ONCE = """async () => {
  const { Api } = await import("/static/console-api.js");
  let out = 0, most = 0;
  window.fetch = async () => {  // a slow server: each download takes 50 ms
    out += 1; most = Math.max(most, out);
    await new Promise((r) => setTimeout(r, 50));
    out -= 1;
    return new Response(new Blob(["x"]), { status: 200 });
  };
  const api = new Api("hv_test");
  const blobs = await Promise.all(Array.from({ length: 30 }, (_, i) => api.blob(`/media/${i}`)));
  return { most, got: blobs.length, left: out };
}"""


def test_thirty_photos_are_downloaded_four_at_a_time(browser, stack):
    page = new_page(browser)
    page.goto(stack.base + "/")
    assert page.evaluate(MOST_AT_ONCE) == {"most": 4, "got": 30, "left": 0}
