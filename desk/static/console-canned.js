// Canned replies in the reply box: "/" at the start of an empty box opens the rules' canned replies,
// filtered by what follows it ("/obr" finds "obrigado…"); ↑/↓ choose, Enter or Tab insert the text (in the
// customer's language, filled in by the server) for the agent to edit before sending, Escape closes. A
// combobox: the box keeps the focus, the list says which option is active (aria-activedescendant).

import { h, fill } from "./console-dom.js";
import { t } from "./console-i18n.js";

const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

export class CannedPicker {
  constructor(desk, input, conversationId) {
    this.desk = desk;
    this.input = input;
    this.conversationId = conversationId;
    this.replies = null; // loaded at the first "/"
    this.shown = [];
    this.active = 0;
    this.list = h("ul.canned", { id: "canned-list", testid: "canned-list", role: "listbox", "aria-label": t("canned_title"), hidden: true });
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", "canned-list");
    input.setAttribute("aria-expanded", "false");
    input.addEventListener("input", () => this.follow());
    // before the composer's own Enter (send): while the list is open, Enter inserts instead
    input.addEventListener("keydown", (event) => this.key(event));
    input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
  }

  /** "/" then a filter, on one line: the list is open; anything else closes it. */
  async follow() {
    const typed = /^\/(\S*)$/.exec(this.input.value);
    if (!typed) return this.close();
    if (this.replies === null) {
      this.replies = [];
      const path = `/canned?conversation_id=${encodeURIComponent(this.conversationId)}`;
      this.replies = await this.desk.api.get(path).catch(() => []);
      if (!/^\/(\S*)$/.test(this.input.value)) return this.close(); // typed on meanwhile
    }
    const wanted = fold(typed[1]);
    this.shown = this.replies.filter((r) => fold(r.name).includes(wanted) || fold(r.text || "").includes(wanted));
    this.active = 0;
    this.render();
  }

  render() {
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    if (!this.shown.length) {
      fill(this.list, h("li.none", { role: "presentation", testid: "canned-none" }, t(this.replies.length ? "canned_no_match" : "canned_none")));
      this.input.removeAttribute("aria-activedescendant");
      return;
    }
    fill(
      this.list,
      this.shown.map((reply, i) =>
        h(
          "li",
          {
            id: `canned-${i}`,
            role: "option",
            testid: "canned-option",
            "aria-selected": i === this.active ? "true" : "false",
            onmousedown: (event) => {
              event.preventDefault(); // keep the focus in the box
              this.insert(reply);
            },
          },
          h("span.name", {}, `/${reply.name}`),
          h("span.text", {}, reply.text || ""),
        ),
      ),
    );
    this.input.setAttribute("aria-activedescendant", `canned-${this.active}`);
    const chosen = this.list.children[this.active];
    if (chosen && chosen.scrollIntoView) chosen.scrollIntoView({ block: "nearest" });
  }

  key(event) {
    if (this.list.hidden) return;
    const move = { ArrowDown: 1, ArrowUp: -1 }[event.key];
    if (move && this.shown.length) {
      this.active = (this.active + move + this.shown.length) % this.shown.length;
      this.render();
    } else if ((event.key === "Enter" || event.key === "Tab") && this.shown.length && !event.shiftKey) {
      this.insert(this.shown[this.active]);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation(); // the composer must not send, the dialog must not close
  }

  insert(reply) {
    this.input.value = reply.text || "";
    this.close();
    this.input.dispatchEvent(new Event("input")); // the draft keeps it
    this.input.focus();
    // the first value still to fill in ("{order_number}") is selected, else the caret goes to the end
    const gap = this.input.value.search(/\{[a-z0-9_]+\}/);
    if (gap >= 0) this.input.setSelectionRange(gap, this.input.value.indexOf("}", gap) + 1);
    else this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  close() {
    if (this.list.hidden) return;
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }
}
