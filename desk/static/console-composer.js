// The reply box (Enter sends, Shift+Enter breaks the line, "/" opens the canned replies) and, once the
// 24-hour window has closed, the approved-template picker WhatsApp requires instead. A second tab writes a
// private note for colleagues (never sent); whoever only reads the conversation gets the note box alone.

import { h, fill } from "./console-dom.js";
import { t, LANG, explain } from "./console-i18n.js";
import { icon } from "./console-icons.js";
import { CannedPicker } from "./console-canned.js";
import { Typing, quotingBar } from "./console-gestures.js";

export class Composer {
  constructor(desk) {
    this.desk = desk;
    this.root = h("div.composer-wrap");
    this.key = "";
    this.detail = null;
    this.noting = false; // the note tab is chosen
    this.files = new Map(); // conversation id -> the File attached, not sent yet
    this.showChosen = null;
    this.quoting = new Map(); // conversation id -> { id, text }: the message the next reply quotes
    this.showQuoting = null;
    this.typing = new Typing(desk);
  }

  /** The next reply of this conversation quotes message `id` (its transcript id); shown over the box. */
  quote(conversationId, id, text) {
    this.quoting.set(conversationId, { id, text });
    if (this.showQuoting) this.showQuoting();
    const box = this.root.querySelector("[data-testid=reply-input]");
    if (box && !box.disabled) box.focus();
  }

  /** mode: "reply" | "closed" | "readonly" | "none"; the same conversation in the same mode is left alone. */
  show(detail, mode) {
    const key = `${detail ? detail.id : ""}:${mode}:${this.noting}`;
    this.detail = detail;
    if (key === this.key) return;
    this.key = key;
    if (mode === "none") {
      fill(this.root);
      return;
    }
    if (mode === "readonly") {
      // a reader notes what the next agent should know; only an open conversation takes notes (the API
      // answers 409 conversation_closed otherwise): a closed one is history, one with the bot has no agent
      const closed = !["queued", "assigned", "transferring"].includes(detail.state);
      fill(this.root, closed ? null : this.noteBox());
      return;
    }
    const tabs = this.tabs(mode);
    if (this.noting) fill(this.root, tabs, this.noteBox());
    else fill(this.root, tabs, mode === "closed" ? this.closed() : null, this.replyBox(mode === "reply"));
  }

  /** Reply to the customer, or a note for colleagues. */
  tabs(mode) {
    const tab = (noting, label, testid) =>
      h(
        "button.composer-tab",
        {
          type: "button",
          role: "tab",
          testid,
          "aria-selected": this.noting === noting ? "true" : "false",
          onclick: () => {
            if (this.noting === noting) return;
            this.noting = noting;
            this.show(this.detail, mode);
            const box = this.root.querySelector("textarea");
            if (box && !box.disabled) box.focus();
          },
        },
        label,
      );
    return h("div.composer-tabs", { role: "tablist" }, tab(false, t("tab_reply"), "tab-reply"), tab(true, t("tab_note"), "tab-note"));
  }

  noteBox() {
    const id = this.detail.id;
    const draft = `note:${id}`;
    const input = h("textarea.reply.note", {
      id: "note-input",
      testid: "note-input",
      rows: "2",
      maxlength: "2000",
      placeholder: t("note_placeholder"),
    });
    input.value = this.desk.drafts.get(draft) || "";
    input.addEventListener("input", () => this.desk.drafts.set(draft, input.value));
    input.addEventListener("keydown", (event) => enterSends(event, form));
    const add = h("button.btn.note-send", { type: "submit", testid: "note-send" }, icon("lock"), t("note_send"));
    const form = h(
      "form.composer.noting",
      {
        onsubmit: async (event) => {
          event.preventDefault();
          const text = input.value.trim();
          if (!text || add.disabled) return;
          add.disabled = true;
          try {
            await this.desk.api.post(`/conversations/${encodeURIComponent(id)}/notes`, { text });
            input.value = "";
            this.desk.drafts.delete(draft);
            await this.desk.refreshOpen();
          } catch (exc) {
            this.desk.toast(t("note_failed", { reason: explain(exc) }), "error");
          } finally {
            add.disabled = false;
            const still = this.root.querySelector("[data-testid=note-input]");
            if (still) still.focus();
          }
        },
      },
      h("label.sr-only", { for: "note-input" }, t("note_label")),
      input,
      h("div.composer-bar", {}, h("span.hint", {}, t("note_hint")), add),
    );
    return form;
  }

  replyBox(enabled) {
    const id = this.detail.id;
    const input = h("textarea.reply", {
      id: "reply-input",
      testid: "reply-input",
      rows: "2",
      maxlength: "4096",
      placeholder: t("reply_placeholder"),
      disabled: !enabled,
      "aria-describedby": "reply-hint",
    });
    input.value = enabled ? this.desk.drafts.get(id) || "" : "";
    const send = h("button.btn.primary.send", { type: "submit", testid: "reply-send", disabled: !enabled }, icon("send"), t("reply_send"));
    // a file to send with the text as its caption (checked by the server against WhatsApp's limits)
    const chosen = h("div.attachment", { testid: "attachment", hidden: true });
    const picker = h("input", { type: "file", hidden: true, testid: "attach-input", accept: ACCEPT });
    const attach = h(
      "button.icon-btn.attach",
      { type: "button", testid: "attach", disabled: !enabled, title: t("attach"), "aria-label": t("attach"), onclick: () => picker.click() },
      icon("clip"),
    );
    const showChosen = () => {
      const file = this.files.get(id);
      chosen.hidden = !file;
      if (!file) return fill(chosen);
      fill(
        chosen,
        icon("clip"),
        h("span.name", {}, file.name),
        h("span.muted", {}, size(file.size)),
        h("button.icon-btn", { type: "button", testid: "attachment-remove", "aria-label": t("attach_remove"), onclick: () => (this.files.delete(id), showChosen()) }, "×"),
      );
    };
    picker.addEventListener("change", () => {
      if (picker.files.length) this.files.set(id, picker.files[0]);
      picker.value = "";
      showChosen();
      input.focus();
    });
    this.showChosen = showChosen;
    const quoted = h("div.quoting-slot");
    const showQuoting = () => {
      const quoting = this.quoting.get(id);
      fill(quoted, quoting ? quotingBar(quoting.text, () => (this.quoting.delete(id), showQuoting(), input.focus())) : null);
    };
    this.showQuoting = showQuoting;
    const count = h("span.count", { "aria-hidden": "true" });
    const counted = () => {
      count.textContent = input.value.length > 3500 ? `${input.value.length}/4096` : "";
    };
    const canned = new CannedPicker(this.desk, input, id); // its keys come before the Enter that sends
    input.addEventListener("input", (event) => {
      this.desk.drafts.set(id, input.value);
      counted();
      if (event.isTrusted && input.value.trim()) this.typing.typed(id); // the agent typing, not a reset
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.quoting.has(id) && !event.defaultPrevented) {
        this.quoting.delete(id);
        showQuoting();
        return;
      }
      enterSends(event, form);
    });
    const form = h(
      "form.composer",
      {
        onsubmit: (event) => {
          event.preventDefault();
          this.send(id, input, send);
        },
      },
      h("label.sr-only", { for: "reply-input" }, t("reply_label")),
      canned.list,
      chosen,
      quoted,
      input,
      h("div.composer-bar", {}, attach, picker, h("span.hint", { id: "reply-hint" }, t("reply_hint")), count, send),
    );
    counted();
    showChosen();
    showQuoting();
    return form;
  }

  async send(id, input, button) {
    const text = input.value.trim();
    const file = this.files.get(id);
    if ((!text && !file) || button.disabled) return;
    button.disabled = true;
    // The box empties at once: what the agent types while the send is on its way stays theirs (it used to
    // be wiped when the answer came). A send that fails puts its text back, ahead of anything typed since.
    const typed = input.value;
    input.value = "";
    input.dispatchEvent(new Event("input"));
    try {
      const path = `/conversations/${encodeURIComponent(id)}`;
      if (file) {
        const form = new FormData();
        form.append("file", file, file.name);
        if (text) form.append("caption", text);
        await this.desk.api.upload(`${path}/media`, form);
        this.files.delete(id);
        if (this.showChosen) this.showChosen();
      } else {
        const quoting = this.quoting.get(id);
        await this.desk.api.post(`${path}/messages`, quoting ? { text, reply_to: quoting.id } : { text });
        this.quoting.delete(id);
        if (this.showQuoting) this.showQuoting();
      }
      this.typing.answered(id);
      this.desk.answered(id);
    } catch (exc) {
      const since = input.isConnected ? input.value : this.desk.drafts.get(id) || "";
      const restored = since ? `${typed}\n${since}` : typed;
      this.desk.drafts.set(id, restored); // where it comes back from if the box was redrawn meanwhile
      if (input.isConnected) {
        input.value = restored;
        input.dispatchEvent(new Event("input"));
      }
      this.desk.toast(t("reply_failed", { reason: explain(exc) }), "error");
    } finally {
      button.disabled = false;
      await this.desk.refreshOpen();
      const still = this.root.querySelector("[data-testid=reply-input]");
      if (still && !still.disabled) still.focus();
    }
  }

  closed() {
    return h(
      "div.window-closed",
      {},
      h(
        "div.notice",
        { testid: "window-closed-notice", role: "note" },
        icon("lock"),
        h("div", {}, h("strong", {}, t("window_closed_title")), h("p", {}, t("window_closed_body"))),
      ),
      this.templateForm(),
    );
  }

  templateForm() {
    const picker = h("select", { id: "template-picker", testid: "template-picker", required: true }, h("option", { value: "" }, t("template_choose")));
    const params = h("div.params");
    const preview = h("p.preview", { testid: "template-preview", "aria-live": "polite" });
    const error = h("p.form-error", { testid: "template-error", role: "alert", hidden: true });
    const send = h("button.btn.primary", { type: "submit", testid: "template-send", disabled: true }, icon("send"), t("template_send"));
    let templates = [];
    const chosen = () => templates.find((x) => `${x.name}|${x.language}` === picker.value) || null;
    const render = () => {
      const tpl = chosen();
      const values = [...params.querySelectorAll("input")].map((x) => x.value);
      preview.textContent = tpl ? tpl.body.replace(/\{\{(\d+)\}\}/g, (w, n) => values[n - 1] || w) : "";
      send.disabled = !tpl;
    };
    picker.addEventListener("change", () => {
      const tpl = chosen();
      fill(
        params,
        tpl
          ? Array.from({ length: tpl.params }, (_, i) =>
              h(
                "label.param",
                {},
                h("span", {}, t("template_param", { n: i + 1 }), h("code", {}, ` {{${i + 1}}}`)),
                h("input", { type: "text", testid: "template-param", maxlength: "1024", oninput: render }),
              ),
            )
          : [],
      );
      error.hidden = true;
      render();
    });
    const form = h(
      "form.template-form",
      {
        onsubmit: async (event) => {
          event.preventDefault();
          const tpl = chosen();
          if (!tpl) return;
          const values = [...params.querySelectorAll("input")].map((x) => x.value.trim());
          if (values.some((v) => !v)) {
            error.hidden = false;
            error.textContent = t("template_missing");
            return;
          }
          send.disabled = true;
          try {
            const path = `/conversations/${encodeURIComponent(this.detail.id)}/template`;
            await this.desk.api.post(path, { name: tpl.name, language: tpl.language, params: values });
            this.desk.toast(t("template_sent"));
            picker.value = "";
            picker.dispatchEvent(new Event("change"));
            await this.desk.refreshOpen();
          } catch (exc) {
            error.hidden = false;
            error.textContent = t("error", { message: explain(exc) });
          } finally {
            render();
          }
        },
      },
      h("label.field", { for: "template-picker" }, t("template")),
      picker,
      params,
      preview,
      error,
      h("div.form-actions", {}, send),
    );
    this.desk.templates().then((list) => {
      const customer = this.customerLanguage();
      templates = [...list].sort((a, b) => rank(a, customer) - rank(b, customer) || a.name.localeCompare(b.name));
      if (!templates.length) picker.append(h("option", { value: "", disabled: true }, t("template_none")));
      templates.forEach((tpl) => {
        const about = tpl.description ? tpl.description[LANG] || Object.values(tpl.description)[0] : "";
        picker.append(h("option", { value: `${tpl.name}|${tpl.language}` }, `${tpl.name} (${tpl.language})${about ? ` — ${about}` : ""}`));
      });
    });
    return form;
  }

  customerLanguage() {
    const p = this.detail && this.detail.packet;
    return (p && p.customer.language) || LANG;
  }
}

// what WhatsApp takes (handover/media.py SENDABLE); the server checks again, with the sizes
const ACCEPT = [
  "image/jpeg", "image/png", "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg", "video/mp4", "video/3gpp",
  "application/pdf", "text/plain", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx",
].join(",");

function size(bytes) {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Enter submits the box's form; Shift+Enter (or a key held with it, or an IME composing) breaks the line. */
function enterSends(event, form) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    form.requestSubmit();
  }
}

/** Templates in the customer's language first. */
function rank(template, language) {
  return template.language.toLowerCase().startsWith(language.toLowerCase()) ? 0 : 1;
}
