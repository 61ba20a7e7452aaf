// Supervisors' search: every conversation, open or closed, by phone number (or its last digits), name, user
// id or conversation id (GET /api/v1/conversations?q=). A result opens read-only, with a way back here.

import { h, fill } from "./console-dom.js";
import { t, when } from "./console-i18n.js";

export class SearchCard {
  constructor(desk) {
    this.desk = desk;
    this.input = h("input", {
      id: "supervisor-search",
      testid: "supervisor-search",
      type: "search",
      autocomplete: "off",
      placeholder: t("search_placeholder"),
    });
    this.results = h("ul.search-results", { testid: "search-results", "aria-live": "polite" });
    this.root = h(
      "section.card.search",
      { testid: "supervisor-search-card", "aria-label": t("search_title") },
      h(
        "form.search-form",
        { role: "search", onsubmit: (event) => this.search(event) },
        h("label", { for: "supervisor-search" }, t("search_title")),
        this.input,
        h("button.btn", { type: "submit", testid: "search-submit" }, t("search_submit")),
      ),
      this.results,
    );
  }

  async search(event) {
    event.preventDefault();
    const q = this.input.value.trim();
    if (!q) return fill(this.results);
    let found;
    try {
      found = await this.desk.api.get(`/conversations?q=${encodeURIComponent(q)}&limit=50`);
    } catch (exc) {
      return fill(this.results, h("li.muted", {}, t("search_failed")));
    }
    if (!found.length) return fill(this.results, h("li.muted", { testid: "search-none" }, t("search_none", { q })));
    fill(
      this.results,
      found.map((c) =>
        h(
          "li",
          {},
          h(
            "button.link",
            { type: "button", testid: "search-open", data: { id: c.id }, onclick: () => this.desk.peekConversation(c.id, "supervisor") },
            c.customer_name || t("customer_unknown"),
          ),
          c.wa_id ? h("span.mono", {}, `+${c.wa_id}`) : null,
          h("span.pill.small", {}, t(`state_${c.state}`)),
          h("span.muted", {}, when(c.updated_at)),
          c.agent_id ? h("span", {}, this.desk.agentName(c.agent_id)) : null,
        ),
      ),
    );
  }
}
