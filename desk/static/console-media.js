// A customer's media in the transcript: photos inline (click opens them whole), voice notes and videos with a
// player, documents as a download with their file name, locations as a map link. The bytes come through the
// desk API (GET /api/v1/media/{id}); Meta's URL is never seen here. Photos (5 MB at most) are fetched with the
// agent's token as blob: URLs; players and downloads, which cannot send the token, open a short-lived link
// (POST /api/v1/media/{id}/link: a ticket for this agent and this media, 300 s), so the browser streams them
// with range requests instead of holding a whole 100 MB file in a blob.

import { h, fill } from "./console-dom.js";
import { t } from "./console-i18n.js";
import { icon } from "./console-icons.js";

const INLINE_IMAGE = /^image\/(jpeg|png|webp|gif)$/;
const urls = new Map(); // media id -> blob: URL, kept for the page's life (a transcript re-renders often)
const links = new Map(); // media id -> {url, until}: a link is reused while it has a minute left

async function objectUrl(desk, id) {
  if (!urls.has(id)) urls.set(id, desk.api.blob(`/media/${encodeURIComponent(id)}`).then((b) => URL.createObjectURL(b)));
  try {
    return await urls.get(id);
  } catch (exc) {
    urls.delete(id);
    throw exc;
  }
}

async function mediaLink(desk, id, fresh = false) {
  const known = links.get(id);
  if (!fresh && known && known.until > Date.now()) return known.url;
  const link = await desk.api.post(`/media/${encodeURIComponent(id)}/link`);
  links.set(id, { url: link.url, until: Date.now() + (link.expires_in - 60) * 1000 });
  return link.url;
}

/** How a link answers, reading one byte of it at most: {status} (206 or 200 it opens, 410 gone...). */
async function whyNot(url) {
  try {
    const response = await fetch(url, { headers: { Range: "bytes=0-0" }, cache: "no-store" });
    await response.arrayBuffer();
    return { status: response.status };
  } catch (exc) {
    return { status: 0 };
  }
}

/** The player's source is the link; when it fails (its ticket ran out while paused, say), one fresh link is
 *  tried from where it was, then the agent is told why. */
function play(desk, box, player, id) {
  let retried = false;
  player.addEventListener("error", async () => {
    if (!player.getAttribute("src")) return;
    if (retried) {
      unavailable(box, await whyNot(player.src));
      return;
    }
    retried = true;
    const at = player.currentTime;
    try {
      player.src = await mediaLink(desk, id, true);
      if (at) player.currentTime = at;
    } catch (exc) {
      unavailable(box, exc);
    }
  });
  mediaLink(desk, id).then((url) => (player.src = url), (exc) => unavailable(box, exc));
}

function unavailable(box, exc) {
  fill(box, h("span.media-gone", { testid: "media-gone" }, exc.status === 410 ? t("media_gone") : t("media_failed")));
}

/** The media part of a transcript entry, or null. */
export function mediaView(desk, entry) {
  const media = entry.media;
  const content = entry.content || {};
  if (!media) {
    if (content.latitude !== undefined && content.longitude !== undefined) return locationLink(content);
    return null;
  }
  const type = media.mime_type || "";
  const box = h("div.media", { testid: "media", data: { kind: type.split("/")[0] } });
  if (INLINE_IMAGE.test(type)) {
    const img = h("img", { alt: media.caption || t("media_photo"), testid: "media-image" });
    const open = h("button.media-thumb", { type: "button", "aria-label": t("media_open"), onclick: async () => window.open(await objectUrl(desk, media.id), "_blank", "noopener") }, img);
    fill(box, open);
    img.addEventListener("load", () => {
      // a photo that arrives while the agent reads the newest messages keeps them in view
      const list = img.closest(".transcript");
      if (list && list.scrollHeight - list.scrollTop - list.clientHeight < img.height + 120) list.scrollTop = list.scrollHeight;
    });
    objectUrl(desk, media.id).then((url) => (img.src = url), (exc) => unavailable(box, exc));
  } else if (type.startsWith("audio/") || type.startsWith("video/")) {
    // a voice note is small: its length shows at once; a video (16 MB) is asked for when played, so a
    // transcript of videos does not hold the agent's media requests (HANDOVER_MEDIA_PER_AGENT) paused
    const audio = type.startsWith("audio/");
    const player = h(audio ? "audio" : "video", { controls: true, preload: audio ? "metadata" : "none", testid: `media-${type.split("/")[0]}` });
    fill(box, player);
    play(desk, box, player, media.id);
  } else {
    const name = media.filename || t("media_file");
    fill(
      box,
      h(
        "button.media-file",
        {
          type: "button",
          testid: "media-document",
          onclick: async () => {
            try {
              const url = await mediaLink(desk, media.id);
              const check = await whyNot(url); // a document gone from WhatsApp says so, not a failed download
              if (check.status >= 400) {
                unavailable(box, check);
                return;
              }
              const link = h("a", { href: url, download: name });
              document.body.append(link);
              link.click();
              link.remove();
            } catch (exc) {
              unavailable(box, exc);
            }
          },
        },
        icon("download"),
        h("span", {}, name),
      ),
    );
  }
  return box;
}

function locationLink(content) {
  const lat = Number(content.latitude);
  const lon = Number(content.longitude);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  const href = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`;
  return h("a.media-location", { href, target: "_blank", rel: "noopener noreferrer", testid: "media-location" }, t("media_location"));
}
