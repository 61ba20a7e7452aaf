// The public desk API (/api/v1) with the agent's bearer token, and its live event stream read by hand:
// EventSource cannot send an Authorization header, and the token must never travel in a URL.

const PREFIX = "/api/v1";
const BLOBS_AT_ONCE = 4;
let blobsOut = 0;
const blobsWaiting = [];

function blobSlot() {
  if (blobsOut < BLOBS_AT_ONCE) {
    blobsOut += 1;
    return Promise.resolve();
  }
  return new Promise((resolve) => blobsWaiting.push(resolve));
}

function freeBlobSlot() {
  const next = blobsWaiting.shift();
  if (next) next(); // the slot passes to the next download
  else blobsOut -= 1;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || "";
  }
}

export class Api {
  /** onUnauthorized: called when the token stops working (revoked, agent removed) mid-session. */
  constructor(token, onUnauthorized = null) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  /** JSON in, JSON out; resolves to the body (null for 204), rejects with an ApiError. */
  async request(method, path, body) {
    return (await this.exchange(method, path, body)).data;
  }

  /** A page of a paged list: {items, next}, `next` being the X-Next-Cursor header (null on the last page). */
  async page(path) {
    const { data, headers } = await this.exchange("GET", path);
    return { items: data || [], next: headers.get("X-Next-Cursor") };
  }

  /** A multipart form (a file the agent attaches): JSON answer, as `request`. */
  async upload(path, form) {
    return (await this.exchange("POST", path, form)).data;
  }

  async exchange(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    const isForm = body instanceof FormData; // the browser writes its Content-Type, with the boundary
    if (body !== undefined && !isForm) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(PREFIX + path, {
        method,
        headers,
        body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (exc) {
      throw new ApiError(0, "network", exc.message);
    }
    if (response.status === 204) return { data: null, headers: response.headers };
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data && data.error) || {};
      if (response.status === 401 && this.onUnauthorized) this.onUnauthorized();
      throw new ApiError(response.status, error.code, error.message);
    }
    return { data, headers: response.headers };
  }

  get(path) {
    return this.request("GET", path);
  }

  /** Bytes (a customer's photo, voice note, document) as a Blob; rejects with an ApiError (410: gone). At most
   *  BLOBS_AT_ONCE at a time: a transcript of 30 photos would otherwise pass the agent's share of requests
   *  (HANDOVER_REQUESTS_PER_AGENT, 20) behind an HTTP/2 proxy, and the last ones would get 429. */
  async blob(path) {
    await blobSlot();
    try {
      let response;
      try {
        response = await fetch(PREFIX + path, { headers: { Authorization: `Bearer ${this.token}` } });
      } catch (exc) {
        throw new ApiError(0, "network", exc.message);
      }
      if (!response.ok) {
        const data = await response.json().catch(() => null);
        const error = (data && data.error) || {};
        throw new ApiError(response.status, error.code, error.message);
      }
      return await response.blob();
    } finally {
      freeBlobSlot();
    }
  }

  post(path, body = {}) {
    return this.request("POST", path, body);
  }

  put(path, body) {
    return this.request("PUT", path, body);
  }
}

/** Split a server-sent-events text stream into {id, event, data} frames (the WHATWG parsing rules). */
export class SseParser {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.event = "";
    this.data = [];
    this.id = null;
  }

  push(text) {
    this.buffer += text;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop(); // an unfinished line waits for the next chunk
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === "") {
      if (this.data.length) this.onFrame({ id: this.id, event: this.event || "message", data: this.data.join("\n") });
      this.reset();
      return;
    }
    if (line.startsWith(":")) return; // a comment: the server's heartbeat
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id") this.id = value;
  }
}

/**
 * GET /events held open with fetch(); reconnects with exponential backoff (1 s → 30 s, with jitter) and
 * reports each (re)connection so the caller reloads what it may have missed while it was away. A stream the
 * server ends with `replaced` (this agent opened more streams elsewhere than the server keeps, and this was
 * the oldest) is not reconnected: state "replaced" until start() is called again (a click), so two tabs
 * never take the stream from each other in a loop.
 */
export class EventStream {
  constructor(api, { onEvent, onState, onUnauthorized }) {
    this.api = api;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.controller = null;
    this.stopped = false;
    this.failures = 0;
    this.lastId = null;
    this.timer = null;
    this.replaced = false;
  }

  start() {
    this.stopped = false;
    this.replaced = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
  }

  async connect() {
    if (this.stopped) return;
    this.controller = new AbortController();
    this.onState("connecting");
    const headers = { Authorization: `Bearer ${this.api.token}`, Accept: "text/event-stream" };
    if (this.lastId) headers["Last-Event-ID"] = this.lastId;
    try {
      const response = await fetch(`${PREFIX}/events`, { headers, signal: this.controller.signal, cache: "no-store" });
      if (response.status === 401) {
        this.stopped = true;
        this.onUnauthorized();
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      this.failures = 0;
      this.onState("live");
      const parser = new SseParser((frame) => this.frame(frame));
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } catch (exc) {
      if (this.stopped) return;
    }
    if (this.replaced) {
      this.stopped = true;
      this.onState("replaced");
      return;
    }
    this.retry();
  }

  frame(frame) {
    if (frame.id) this.lastId = frame.id;
    if (frame.event === "replaced") this.replaced = true;
    let data = {};
    try {
      data = JSON.parse(frame.data);
    } catch {
      return; // not ours: ignore rather than break the stream
    }
    this.onEvent(frame.event, data);
  }

  retry() {
    if (this.stopped) return;
    this.onState("reconnecting");
    const base = Math.min(30000, 1000 * 2 ** this.failures);
    this.failures += 1;
    this.timer = setTimeout(() => this.connect(), base / 2 + Math.random() * (base / 2));
  }
}
