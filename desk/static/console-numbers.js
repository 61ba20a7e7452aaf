// The business numbers an agent serves (GET /numbers): each conversation's and queue's number, by its name and
// colour, and a filter, once the agent serves more than one. A one-number desk shows none of it.
//   testids: number-filter (<select>, "" for every number), number-mark[data-number]

import { h } from "./console-dom.js";
import { t } from "./console-i18n.js";

/** Supervisors and admins (a supervisor of every number) see the supervisor's and the bot's tabs. */
export const isSupervisor = (who) => Boolean(who) && (who.role === "supervisor" || who.role === "admin");

export class Numbers {
  constructor(api, onChange) {
    this.api = api;
    this.onChange = onChange;
    this.byId = new Map(); // phone_number_id → {id, name, colour}
    this.chosen = ""; // the filter: "" for every number
    this.picker = h("select.number-filter", {
      testid: "number-filter",
      "aria-label": t("number_filter"),
      hidden: true,
      onchange: () => {
        this.chosen = this.picker.value;
        this.onChange();
      },
    });
  }

  async load() {
    const list = await this.api.get("/numbers").catch(() => []);
    this.byId = new Map(list.map((n) => [n.id, n]));
    if (this.chosen && !this.byId.has(this.chosen)) this.chosen = "";
    const options = [h("option", { value: "" }, t("number_all"))];
    for (const n of this.byId.values()) options.push(h("option", { value: n.id, selected: n.id === this.chosen }, n.name));
    this.picker.replaceChildren(...options);
    this.picker.hidden = !this.many;
  }

  /** Whether the agent serves several numbers: only then is a number worth showing. */
  get many() {
    return this.byId.size > 1;
  }

  /** Whether something of this number passes the filter (what has no number always does). */
  shows(number) {
    return !this.chosen || !number || number === this.chosen;
  }

  /** The number's name beside a conversation or a queue, with its colour; null on a one-number desk. */
  mark(number) {
    if (!this.many || !number) return null;
    const known = this.byId.get(number) || { id: number, name: number, colour: "#64748b" };
    return h(
      "span.pill.small.number-mark",
      { testid: "number-mark", data: { number: known.id }, title: t("number_title", { name: known.name }) },
      h("span.number-dot", { "aria-hidden": "true", style: { backgroundColor: known.colour } }),
      known.name,
    );
  }
}
