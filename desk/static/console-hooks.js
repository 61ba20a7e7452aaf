// The Bot tab's hooks panel (GET /hooks): each hook of events out with what it sent and failed and whether
// its breaker is open, then the last failed attempts, newest first, and how many were given up on.
//   testids: hooks-list, hook[data-hook][data-breaker], hook-failure[data-hook], hooks-given-up

import { h, fill, table, empty } from "./console-dom.js";
import { t, tn, when, stamp } from "./console-i18n.js";

export class HooksPanel {
  constructor() {
    this.root = h("div", { testid: "hooks-list" });
  }

  render(view) {
    const hooks = view.hooks || [];
    if (!hooks.length) return fill(this.root, empty(t("hooks_none")));
    const names = new Map(hooks.map((hook) => [hook.id, hook.url]));
    fill(
      this.root,
      table(
        [t("hooks_col_url"), t("hooks_col_events"), t("hooks_col_sent"), t("hooks_col_failed"), t("hooks_col_state")],
        hooks.map((hook) => {
          const open = hook.breaker_open_until !== null;
          return h(
            "tr",
            { testid: "hook", data: { hook: hook.id, breaker: open ? "open" : "closed" } },
            h("th.mono", { scope: "row", title: hook.id }, hook.url),
            h("td", {}, hook.events.join(", ")),
            h("td.num", {}, String(hook.sent)),
            h(`td.num${hook.failed ? ".late" : ""}`, {}, String(hook.failed)),
            h("td", {}, open ? h("span.pill.small.late", { title: stamp(hook.breaker_open_until) }, t("hooks_breaker_open")) : t("hooks_breaker_closed")),
          );
        }),
        [false, false, true, true, false],
      ),
      view.failures.length
        ? h(
            "ul.hook-failures",
            { "aria-label": t("hooks_failures") },
            view.failures.map((f) =>
              h(
                "li",
                { testid: "hook-failure", data: { hook: f.hook } },
                h("span.nowrap", { title: stamp(f.at) }, when(f.at)),
                " · ",
                h("span.mono", {}, names.get(f.hook) || f.hook),
                ` · ${f.type} · #${f.attempt} · `,
                h("strong", {}, f.error || String(f.status)),
                f.gave_up ? ` · ${t("hooks_gave_up")}` : f.next_at ? ` · ${t("hooks_next", { when: when(f.next_at) })}` : "",
              ),
            ),
          )
        : empty(t("hooks_no_failures")),
      view.given_up ? h("p.notice", { testid: "hooks-given-up" }, tn("hooks_given_up", view.given_up)) : null,
    );
  }
}
