// The phone simulator (sandbox only, at /simulator): play one customer on WhatsApp.
//
// Everything goes through the sandbox routes, so what works here works with Meta:
//   POST /sandbox/messages   the customer's turn, signed and taken through the webhook's own path
//   GET  /sandbox/outbox     what the business sent (polled with ?after=<at>)
//   POST /sandbox/statuses   this phone got (delivered) and showed (read) a message: a status webhook
//
// data-testid values tests rely on (keep them stable):
//   sim-number, sim-name, sim-start      the customer form (wa_id digits, profile name, start)
//   sim-input, sim-send                  the typing box (Enter sends, Shift+Enter new line) and its button
//   sim-thread                           the list of messages
//   sim-msg                              one message: data-from="customer"|"business", data-kind, data-id;
//                                        customer messages also data-status="pending"|"delivered"|"read"|"failed"
//   sim-button (data-id)                 a reply button under a business message
//   sim-list-open                        the button of a list message; opens the sheet of rows
//   sim-list-sheet                       that sheet; sim-list-row (data-id) is one of its rows
//   sim-template                         the label of a template message (name and language)
//   sim-retry                            send a failed message again
//   sim-change                           back to the customer form
//   sim-error                            the "cannot reach the server" banner

import { h } from "./console-dom.js";
import { LANG } from "./console-i18n.js";
import { phoneIcon as icon } from "./console-icons.js";

const POLL_MS = 700;
const RETRY_MS = 2000;
const KEPT = 300; // own messages and acknowledgements remembered per customer
const BUSINESS_KINDS = new Set(["text", "buttons", "list", "template"]);

const TEXT = {
  pt: {
    title: "Simulador de WhatsApp",
    about:
      "Você faz o papel do cliente. Cada mensagem vira um webhook assinado, igual ao que a Meta envia, e as respostas do bot e dos atendentes chegam pela caixa de saída do sandbox.",
    aboutTabs: "Para conversar como outro cliente ao mesmo tempo, abra outra aba.",
    deskLink: "Abrir o console dos atendentes ↗",
    playing: "Você é",
    setupTitle: "Quem é o cliente?",
    setupHelp: "Escolha o número e o nome de perfil do cliente que você vai simular.",
    numberLabel: "Número do WhatsApp (com código do país)",
    numberHelp: "Só dígitos, ex.: 5511987654321",
    nameLabel: "Nome do perfil",
    namePlaceholder: "Maria Oliveira",
    defaultName: "Cliente",
    start: "Começar conversa",
    recent: "Recentes",
    badNumber: "Use de 8 a 15 dígitos, começando pelo código do país.",
    business: "whatsapp-handover",
    businessSub: "Conta comercial · sandbox",
    typing: "digitando…",
    you: "Você",
    offline: "Sem conexão com o servidor. Tentando de novo…",
    placeholder: "Mensagem",
    send: "Enviar",
    change: "Trocar de cliente",
    close: "Fechar",
    threadLabel: "Mensagens",
    template: "Modelo",
    today: "Hoje",
    yesterday: "Ontem",
    notice: (name, number) =>
      `Sandbox: você é ${name} (+${number}). As mensagens passam pelo mesmo webhook assinado da Meta.`,
    failed: "Não enviada.",
    retry: "Tentar de novo",
    attach: "Enviar foto, documento ou áudio (amostras do sandbox)",
    attachImage: "📷 Foto",
    attachDocument: "📄 Documento",
    attachAudio: "🎤 Mensagem de voz",
    status: { pending: "enviando", delivered: "entregue", read: "lida", failed: "falhou" },
  },
  en: {
    title: "WhatsApp simulator",
    about:
      "You play the customer. Every message becomes a signed webhook, just like the ones Meta sends, and the bot's and agents' answers arrive through the sandbox outbox.",
    aboutTabs: "To chat as another customer at the same time, open another tab.",
    deskLink: "Open the agents' console ↗",
    playing: "You are",
    setupTitle: "Who is the customer?",
    setupHelp: "Pick the number and profile name of the customer you will play.",
    numberLabel: "WhatsApp number (with country code)",
    numberHelp: "Digits only, e.g. 5511987654321",
    nameLabel: "Profile name",
    namePlaceholder: "Mary Oliver",
    defaultName: "Customer",
    start: "Start chat",
    recent: "Recent",
    badNumber: "Use 8 to 15 digits, starting with the country code.",
    business: "whatsapp-handover",
    businessSub: "Business account · sandbox",
    typing: "typing…",
    you: "You",
    offline: "Cannot reach the server. Retrying…",
    placeholder: "Message",
    send: "Send",
    change: "Change customer",
    close: "Close",
    threadLabel: "Messages",
    template: "Template",
    today: "Today",
    yesterday: "Yesterday",
    notice: (name, number) =>
      `Sandbox: you are ${name} (+${number}). Messages go through the same signed webhook as Meta's.`,
    failed: "Not sent.",
    retry: "Try again",
    attach: "Send a photo, document or voice note (sandbox samples)",
    attachImage: "📷 Photo",
    attachDocument: "📄 Document",
    attachAudio: "🎤 Voice message",
    status: { pending: "sending", delivered: "delivered", read: "read", failed: "failed" },
  },
};

const T = TEXT[LANG]; // the language the console picks (console-i18n.js), from the browser's
const LOCALE = navigator.language || (LANG === "pt" ? "pt-BR" : "en-US");
const TIME = new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit" });
const DAY = new Intl.DateTimeFormat(LOCALE, { day: "numeric", month: "long", year: "numeric" });

// The console's DOM helper (console-dom.js): customer and business text always goes in as text, never
// as markup; the phone's icons are in console-icons.js with the console's.
const $ = (id) => document.getElementById(id);

// ---- storage: the last customers in localStorage (shared by tabs), the tab's own in sessionStorage ----

const store = {
  get(area, key, fallback) {
    try {
      const raw = area.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  },
  set(area, key, value) {
    try {
      area.setItem(key, JSON.stringify(value));
    } catch {
      // storage full or disabled: the simulator still works, it only forgets on reload
    }
  },
};

// ---- the conversation this tab plays ----

let session = null; // {number, name, gen, cursor, timer, polling, mine, acked, seen, pendingReads, ...}
let generation = 0;
let sendChain = Promise.resolve();
let ackChain = Promise.resolve();
let sheetOpener = null;

function applyTexts() {
  document.documentElement.lang = LANG === "pt" ? "pt-BR" : "en";
  document.title = `${T.title} · whatsapp-handover`;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = T[node.dataset.i18n];
  for (const node of document.querySelectorAll("[data-i18n-placeholder]"))
    node.placeholder = T[node.dataset.i18nPlaceholder];
  for (const node of document.querySelectorAll("[data-i18n-aria]"))
    node.setAttribute("aria-label", T[node.dataset.i18nAria]);
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = T[node.dataset.i18nTitle];
  $("sim-name").placeholder = T.namePlaceholder;
  $("sim-send").append(icon("send"));
}

function tickClock() {
  $("clock").textContent = TIME.format(new Date());
}

function randomNumber() {
  let digits = "55119";
  for (let i = 0; i < 8; i += 1) digits += Math.floor(Math.random() * 10);
  return digits;
}

function showSetup(prefill) {
  stopSession();
  $("chat").hidden = true;
  $("setup").hidden = false;
  $("playing").hidden = true;
  const last = prefill || store.get(localStorage, "sim:last", null);
  $("sim-number").value = last?.number || randomNumber();
  $("sim-name").value = last?.name || "";
  renderRecent();
  $("sim-number").focus();
}

function renderRecent() {
  const recent = store.get(localStorage, "sim:recent", []);
  $("recent").hidden = recent.length === 0;
  $("recent-list").replaceChildren(
    ...recent.map((c) =>
      h(
        "button.chip",
        {
          type: "button",
          onclick: () => {
            $("sim-number").value = c.number;
            $("sim-name").value = c.name;
            $("sim-start").focus();
          },
        },
        h("strong", {}, c.name),
        h("span.digits", {}, `+${c.number}`),
      ),
    ),
  );
}

function onSetupSubmit(event) {
  event.preventDefault();
  const number = $("sim-number").value.replace(/\D/g, "");
  const name = $("sim-name").value.trim() || T.defaultName;
  if (number.length < 8 || number.length > 15) {
    $("setup-error").textContent = T.badNumber;
    $("setup-error").hidden = false;
    $("sim-number").setAttribute("aria-invalid", "true");
    $("sim-number").focus();
    return;
  }
  $("setup-error").hidden = true;
  $("sim-number").removeAttribute("aria-invalid");
  const customer = { number, name };
  store.set(localStorage, "sim:last", customer);
  const recent = store.get(localStorage, "sim:recent", []).filter((c) => c.number !== number);
  store.set(localStorage, "sim:recent", [customer, ...recent].slice(0, 5));
  startSession(customer);
}

function startSession({ number, name }) {
  stopSession();
  store.set(sessionStorage, "sim:current", { number, name });
  generation += 1;
  session = {
    number,
    name,
    gen: generation,
    cursor: null,
    timer: null,
    polling: false,
    mine: store.get(localStorage, `sim:mine:${number}`, []),
    acked: store.get(localStorage, `sim:acked:${number}`, {}),
    seen: new Map(), // business wamid → its record
    nodes: new Map(), // own message local id → its element
    pendingReads: new Set(),
    lastDay: null,
  };
  // a send cut short by a reload never got its answer: show it as failed, to be sent again
  for (const m of session.mine) if (m.status === "pending") m.status = "failed";
  $("setup").hidden = true;
  $("chat").hidden = false;
  $("playing").hidden = false;
  $("playing-name").textContent = name;
  $("playing-number").textContent = `+${number}`;
  $("thread").replaceChildren(h("p.notice", {}, T.notice(name, number)));
  $("sim-input").value = "";
  syncSendButton();
  $("sim-input").focus();
  poll(session.gen);
}

function stopSession() {
  if (session) clearTimeout(session.timer);
  session = null;
  closeSheet();
}

// ---- polling the outbox ----

async function poll(gen) {
  const s = session;
  if (!s || s.gen !== gen || s.polling) return;
  s.polling = true;
  let delay = POLL_MS;
  try {
    const after = s.cursor === null ? "" : `&after=${s.cursor}`;
    const response = await fetch(`/sandbox/outbox?to=${encodeURIComponent(s.number)}${after}`, {
      cache: "no-store",
    });
    if (!response.ok) throw new Error(`outbox ${response.status}`);
    const data = await response.json();
    if (session !== s) return;
    if (s.cursor === null) showHistory(data.messages);
    else for (const record of data.messages) receive(record);
    s.cursor = data.next_after;
    $("offline").hidden = true;
  } catch {
    if (session !== s) return;
    $("offline").hidden = false;
    delay = RETRY_MS;
  } finally {
    s.polling = false;
  }
  if (session === s) s.timer = setTimeout(() => poll(gen), delay);
}

function pollSoon() {
  const s = session;
  if (!s || s.polling) return;
  clearTimeout(s.timer);
  s.timer = setTimeout(() => poll(s.gen), 50);
}

/** The first read: the whole outbox, merged by time with this customer's own messages kept here. */
function showHistory(records) {
  const s = session;
  // messages typed before the history arrived are the newest: set them aside, put them back after it
  const early = s.mine.filter((m) => s.nodes.has(m.local));
  for (const node of $("thread").querySelectorAll(".msg, .day")) node.remove();
  s.lastDay = null;
  const business = records.filter((r) => r.kind !== "mark_read" && r.id);
  const items = [
    ...s.mine.filter((m) => !early.includes(m)).map((m) => ({ at: m.at, render: () => appendOwn(m) })),
    ...business.map((r) => ({ at: r.at, render: () => appendBusiness(r) })),
  ].sort((a, b) => a.at - b.at);
  for (const item of items) item.render();
  for (const m of early) appendRow(m.at, s.nodes.get(m.local));
  for (const record of records) if (record.kind === "mark_read") markRead(record.message_id);
  for (const record of business) acknowledge(record);
  scrollToEnd(true);
}

function receive(record) {
  if (record.kind === "mark_read") {
    markRead(record.message_id);
    if (record.typing) showTyping();
    return;
  }
  if (!record.id || session.seen.has(record.id)) return;
  hideTyping(); // WhatsApp drops "typing…" with the business's next message
  const near = isNearEnd();
  appendBusiness(record);
  scrollToEnd(near);
  acknowledge(record);
}

// ---- statuses back to the business: delivered when shown, read when the page is visible ----

function acknowledge(record) {
  if (!BUSINESS_KINDS.has(record.kind)) return;
  const s = session;
  ackChain = ackChain.then(async () => {
    if (session !== s) return;
    if (!s.acked[record.id]) await postStatus(s, record.id, "delivered");
    if (document.visibilityState === "visible" && s.acked[record.id] === "delivered")
      await postStatus(s, record.id, "read");
  });
}

async function postStatus(s, id, status) {
  try {
    const response = await fetch("/sandbox/statuses", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id, status, to: s.number }),
    });
    if (!response.ok) return; // told again on the next visit
    s.acked[id] = status;
    const ids = Object.keys(s.acked);
    if (ids.length > KEPT) for (const old of ids.slice(0, ids.length - KEPT)) delete s.acked[old];
    store.set(localStorage, `sim:acked:${s.number}`, s.acked);
  } catch {
    // offline: the banner says so; statuses are sent again when this customer is opened next
  }
}

function onVisible() {
  if (document.visibilityState !== "visible" || !session) return;
  for (const record of session.seen.values()) if (session.acked[record.id] !== "read") acknowledge(record);
}

// ---- rendering ----

function isNearEnd() {
  const t = $("thread");
  return t.scrollHeight - t.scrollTop - t.clientHeight < 80;
}

function scrollToEnd(force) {
  const t = $("thread");
  if (force) t.scrollTop = t.scrollHeight;
}

function dayLabel(at) {
  const date = new Date(at * 1000);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (date.toDateString() === today.toDateString()) return T.today;
  if (date.toDateString() === yesterday.toDateString()) return T.yesterday;
  return DAY.format(date);
}

function appendRow(at, row) {
  const day = new Date(at * 1000).toDateString();
  if (day !== session.lastDay) {
    session.lastDay = day;
    $("thread").append(h("div.day", {}, h("span", {}, dayLabel(at))));
  }
  $("thread").append(row);
}

function meta(at, ...extra) {
  const when = new Date(at * 1000);
  return h("span.meta", {}, h("time", { datetime: when.toISOString() }, TIME.format(when)), ...extra);
}

function appendBusiness(record) {
  session.seen.set(record.id, record);
  if (record.kind === "reaction") return react(record);
  const bubble = h("div.bubble");
  const quoted = record.reply_to ? quotedText(record.reply_to) : null;
  if (quoted !== null) {
    bubble.append(h("div.quote", { testid: "sim-quote" }, h("strong", {}, quoted.by), h("span", {}, quoted.text)));
  }
  if (record.kind === "template") {
    bubble.append(
      h(
        "div.template-label",
        { testid: "sim-template" },
        icon("template"),
        `${T.template}: ${record.template_name} (${record.template_language})`,
      ),
    );
    if (record.text) bubble.append(h("div.text", {}, record.text));
    if (record.template_params?.length)
      bubble.append(
        h(
          "ol.params",
          {},
          record.template_params.map((value, i) => h("li", {}, h("code", {}, `{{${i + 1}}}`), " ", value)),
        ),
      );
  } else if (record.kind === "media") {
    const label = { image: T.attachImage, document: T.attachDocument, audio: T.attachAudio, video: "🎬" }[record.media_type];
    bubble.append(h("div.template-label", { testid: "sim-media" }, `${label || record.media_type}${record.filename ? ` · ${record.filename}` : ""}`));
    if (record.text) bubble.append(h("div.text", {}, record.text));
  } else {
    bubble.append(h("div.text", {}, record.text || ""));
  }
  bubble.append(meta(record.at));
  const row = h(
    "article.msg.business",
    { testid: "sim-msg", data: { from: "business", kind: record.kind, id: record.id } },
    bubble,
  );
  if (record.kind === "buttons" && record.buttons?.length) {
    row.append(
      h(
        "div.buttons",
        {},
        record.buttons.map((b) =>
          h(
            "button.reply-button",
            {
              type: "button",
              testid: "sim-button",
              data: { id: b.id },
              onclick: () => send({ button: { id: b.id, title: b.title }, context: record.id }),
            },
            icon("reply"),
            b.title,
          ),
        ),
      ),
    );
  }
  if (record.kind === "list" && record.sections?.length) {
    bubble.append(
      h(
        "button.list-open",
        {
          type: "button",
          testid: "sim-list-open",
          "aria-haspopup": "dialog",
          onclick: (event) => openSheet(record, event.currentTarget),
        },
        icon("list"),
        record.list_button || "≡",
      ),
    );
  }
  appendRow(record.at, row);
}

/** Who wrote the message `id` and what it said, as the phone shows a quote (null: not on this phone). */
function quotedText(id) {
  const mine = session.mine.find((m) => m.id === id);
  if (mine) return { by: T.you, text: mine.text || "" };
  const theirs = session.seen.get(id);
  return theirs ? { by: T.business, text: theirs.text || "" } : null;
}

/** The business's reaction sits on the message it reacts to, as on a phone; an empty one takes it back. */
function react(record) {
  const row = $("thread").querySelector(`[data-id="${CSS.escape(record.message_id || "")}"]`);
  if (!row) return;
  row.querySelector(".reaction")?.remove();
  if (record.text) row.querySelector(".bubble").append(h("span.reaction", { testid: "sim-reaction" }, record.text));
}

let typingTimer = null;

/** "typing…" under the business's name for up to 25 s, as WhatsApp shows it. */
function showTyping() {
  $("chat-sub").textContent = T.typing;
  $("chat-sub").dataset.typing = "true";
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, 25000);
}

function hideTyping() {
  clearTimeout(typingTimer);
  if ($("chat-sub").dataset.typing !== "true") return;
  delete $("chat-sub").dataset.typing;
  $("chat-sub").textContent = T.businessSub;
}

function appendOwn(m) {
  const bubble = h("div.bubble");
  const quoted = m.context ? session.seen.get(m.context) : null;
  if (quoted) {
    bubble.append(h("div.quote", {}, h("strong", {}, T.business), h("span", {}, quoted.text || "")));
  }
  bubble.append(h("div.text", {}, m.text));
  if (m.description) bubble.append(h("div.description", {}, m.description));
  const ticks = h("span.ticks");
  bubble.append(meta(m.at, ticks));
  const row = h(
    "article.msg.customer",
    { testid: "sim-msg", data: { from: "customer", kind: m.kind } },
    bubble,
  );
  session.nodes.set(m.local, row);
  paintOwn(m);
  appendRow(m.at, row);
  return row;
}

function paintOwn(m) {
  const row = session.nodes.get(m.local);
  if (!row) return;
  row.dataset.status = m.status;
  if (m.id) row.dataset.id = m.id;
  const ticks = row.querySelector(".ticks");
  ticks.className = `ticks ${m.status}`;
  ticks.title = T.status[m.status];
  ticks.setAttribute("aria-label", T.status[m.status]);
  const shape = { pending: "pending", failed: "failed" }[m.status] || "ticks";
  ticks.replaceChildren(icon(shape));
  row.querySelector(".failed-note")?.remove();
  if (m.status === "failed") {
    row.append(
      h(
        "div.failed-note",
        {},
        T.failed,
        " ",
        h("button.link", { type: "button", testid: "sim-retry", onclick: () => resend(m) }, T.retry),
      ),
    );
  }
}

/** The business read `messageId`: WhatsApp marks it and every earlier message read. */
function markRead(messageId) {
  const s = session;
  const index = s.mine.findIndex((m) => m.id === messageId);
  if (index < 0) {
    s.pendingReads.add(messageId); // its send has not answered yet
    return;
  }
  for (const m of s.mine.slice(0, index + 1)) {
    if (m.status === "delivered") {
      m.status = "read";
      paintOwn(m);
    }
  }
  saveMine(s);
}

function saveMine(s) {
  s.mine = s.mine.slice(-KEPT);
  store.set(localStorage, `sim:mine:${s.number}`, s.mine);
}

// ---- the list sheet ----

function openSheet(record, opener) {
  sheetOpener = opener;
  $("sheet-title").textContent = record.list_button || "";
  $("sheet-body").replaceChildren(
    ...record.sections.map((section) =>
      h(
        "section.sheet-section",
        {},
        section.title ? h("h3", {}, section.title) : null,
        section.rows.map((row) => listRow(record, row)),
      ),
    ),
  );
  $("sheet-backdrop").hidden = false;
  $("sheet").hidden = false;
  $("sheet-body").querySelector("button")?.focus();
}

function listRow(record, row) {
  const chosen = { id: row.id, title: row.title };
  if (row.description) chosen.description = row.description;
  const choose = () => {
    closeSheet();
    send({ list_row: chosen, context: record.id });
  };
  return h(
    "button.list-row",
    { type: "button", testid: "sim-list-row", data: { id: row.id }, onclick: choose },
    h(
      "span.row-text",
      {},
      h("span.row-title", {}, row.title),
      row.description ? h("span.row-description", {}, row.description) : null,
    ),
    h("span.radio", { "aria-hidden": "true" }),
  );
}

function closeSheet() {
  if ($("sheet").hidden) return;
  $("sheet").hidden = true;
  $("sheet-backdrop").hidden = true;
  if (sheetOpener?.isConnected) sheetOpener.focus();
  else $("sim-input").focus();
  sheetOpener = null;
}

// ---- sending ----

function send(turn) {
  const s = session;
  if (!s) return;
  const chosen = turn.button || turn.list_row;
  const m = {
    local: `l${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    id: null,
    at: Date.now() / 1000,
    kind: turn.button ? "button_reply" : turn.list_row ? "list_reply" : turn.media || "text",
    text: chosen ? chosen.title : turn.media ? [MEDIA_LABEL[turn.media](), turn.text].filter(Boolean).join(" · ") : turn.text,
    description: turn.list_row?.description || null,
    context: turn.context || null,
    turn,
    status: "pending",
  };
  s.mine.push(m);
  saveMine(s);
  appendOwn(m);
  scrollToEnd(true);
  deliver(s, m);
}

function resend(m) {
  m.status = "pending";
  paintOwn(m);
  deliver(session, m);
}

function deliver(s, m) {
  // one at a time, so the business gets them in the order they were typed
  sendChain = sendChain.then(async () => {
    if (session !== s) return;
    try {
      const response = await fetch("/sandbox/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ from: s.number, name: s.name, ...m.turn }),
      });
      if (response.status !== 202) throw new Error(`messages ${response.status}`);
      const answer = await response.json();
      m.id = answer.id;
      m.at = answer.at ?? m.at;
      m.status = s.pendingReads.delete(m.id) ? "read" : "delivered"; // stored at the business: ✓✓
    } catch {
      m.status = "failed";
    }
    if (session !== s) return;
    paintOwn(m);
    saveMine(s);
    pollSoon();
  });
}

const MEDIA_LABEL = { image: () => T.attachImage, document: () => T.attachDocument, audio: () => T.attachAudio };

/** The 📎 menu: one of the sandbox's sample media, with what is typed as its caption. */
function toggleAttach(open = $("attach-menu").hidden) {
  $("attach-menu").hidden = !open;
  $("sim-attach").setAttribute("aria-expanded", String(open));
  if (open) $("attach-menu").querySelector("button").focus();
}

function onAttach(event) {
  const kind = event.target.closest("[data-media]")?.dataset.media;
  if (!kind) return;
  toggleAttach(false);
  const input = $("sim-input");
  const caption = input.value.trim();
  input.value = "";
  autoGrow();
  syncSendButton();
  send(caption && kind !== "audio" ? { media: kind, text: caption } : { media: kind });
  input.focus();
}

function syncSendButton() {
  $("sim-send").disabled = !$("sim-input").value.trim();
}

function onComposerSubmit(event) {
  event.preventDefault();
  const input = $("sim-input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  autoGrow();
  syncSendButton();
  send({ text });
  input.focus();
}

function onComposerKey(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
}

function autoGrow() {
  const input = $("sim-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
}

// ---- start ----

function init() {
  applyTexts();
  tickClock();
  setInterval(tickClock, 15000);
  $("setup-form").addEventListener("submit", onSetupSubmit);
  $("composer").addEventListener("submit", onComposerSubmit);
  $("sim-attach").addEventListener("click", () => toggleAttach());
  $("attach-menu").addEventListener("click", onAttach);
  $("attach-menu").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      toggleAttach(false);
      $("sim-attach").focus();
    }
  });
  $("sim-input").addEventListener("keydown", onComposerKey);
  $("sim-input").addEventListener("input", () => {
    autoGrow();
    syncSendButton();
  });
  $("change").addEventListener("click", () => {
    sessionStorage.removeItem("sim:current");
    showSetup(session && { number: session.number, name: session.name });
  });
  $("sheet-close").addEventListener("click", closeSheet);
  $("sheet-backdrop").addEventListener("click", closeSheet);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("sheet").hidden) closeSheet();
  });
  document.addEventListener("visibilitychange", onVisible);

  const query = new URLSearchParams(location.search);
  const current = store.get(sessionStorage, "sim:current", null);
  if (current) startSession(current);
  else if (query.get("number")) {
    showSetup({ number: query.get("number").replace(/\D/g, ""), name: query.get("name") || "" });
  }
  else showSetup(null);
}

init();
