// A customer's media in the transcript: photos inline (click opens them whole), voice notes and videos with a
// player, documents as a download with their file name, locations as a map link. The bytes come through the
// desk API with the agent's token (GET /api/v1/media/{id}), as blob: URLs; Meta's URL is never seen here.

import { h, fill } from "./console-dom.js";
import { t } from "./console-i18n.js";
import { icon } from "./console-icons.js";

const INLINE_IMAGE = /^image\/(jpeg|png|webp|gif)$/;
const urls = new Map(); // media id -> blob: URL, kept for the page's life (a transcript re-renders often)

async function objectUrl(desk, id) {
  if (!urls.has(id)) urls.set(id, desk.api.blob(`/media/${encodeURIComponent(id)}`).then((b) => URL.createObjectURL(b)));
  try {
    return await urls.get(id);
  } catch (exc) {
    urls.delete(id);
    throw exc;
  }
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
    const player = h(type.startsWith("audio/") ? "audio" : "video", { controls: true, preload: "metadata", testid: `media-${type.split("/")[0]}` });
    fill(box, player);
    objectUrl(desk, media.id).then((url) => (player.src = url), (exc) => unavailable(box, exc));
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
              const link = h("a", { href: await objectUrl(desk, media.id), download: name });
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
