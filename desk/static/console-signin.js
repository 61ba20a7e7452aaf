// The sign-in page: the agent token goes into sessionStorage (this tab only), never into a URL.

import { h } from "./console-dom.js";
import { t } from "./console-i18n.js";
import { Api } from "./console-api.js";
import { logo } from "./console-shell.js";

/**
 * Show the sign-in form in `root`; calls onSignedIn(api, me) once a token is accepted by GET /me.
 * `notice`: a message to show first (e.g. the session expired).
 */
export function showSignIn(root, onSignedIn, notice = "") {
  // No `name` on the input and a POST form: even without this script the token could not reach a URL.
  const token = h("input", {
    id: "signin-token",
    testid: "signin-token",
    type: "password",
    autocomplete: "current-password",
    spellcheck: "false",
    required: true,
    "aria-describedby": "signin-error signin-note",
  });
  const error = h("p.form-error", { id: "signin-error", testid: "signin-error", role: "alert", hidden: !notice }, notice);
  const submit = h("button.btn.primary.wide", { type: "submit", testid: "signin-submit" }, t("signin_submit"));
  const demos = h("div.demo", { hidden: true, testid: "demo-agents" });

  const fail = (message) => {
    error.hidden = false;
    error.textContent = message;
    token.setAttribute("aria-invalid", "true");
    token.focus();
  };

  const attempt = async (value) => {
    if (!value) return fail(t("signin_empty"));
    submit.disabled = true;
    submit.textContent = t("signin_busy");
    const api = new Api(value);
    try {
      const me = await api.get("/me");
      sessionStorage.setItem(TOKEN_KEY, value);
      onSignedIn(api, me);
    } catch (exc) {
      fail(exc.status === 401 ? t("signin_bad") : t("signin_network"));
      submit.disabled = false;
      submit.textContent = t("signin_submit");
    }
  };

  const form = h(
    "form.signin-card",
    {
      testid: "signin-form",
      method: "post",
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        attempt(token.value.trim());
      },
    },
    h("div.signin-brand", {}, logo(), h("div", {}, h("strong", {}, t("brand")), h("span", {}, t("brand_sub")))),
    h("h1", {}, t("signin_title")),
    h("p.muted", {}, t("signin_intro")),
    h("label.field", { for: "signin-token" }, t("signin_token")),
    token,
    error,
    submit,
    h("p.muted.small", { id: "signin-note" }, t("signin_note")),
    demos,
  );
  root.replaceChildren(h("main.signin", {}, form));
  token.focus();
  offerDemoAgents(demos, attempt);
}

export const TOKEN_KEY = "handover.desk.token";

/** The embedded sandbox makes a demo agent and supervisor; offer them (the route 404s anywhere else). */
async function offerDemoAgents(box, attempt) {
  try {
    const response = await fetch("/sandbox/demo-agents", { cache: "no-store" });
    if (!response.ok) return;
    const { agents } = await response.json();
    if (!agents || !agents.length) return;
    box.append(
      h("p.small", {}, t("signin_demo")),
      h(
        "div.demo-list",
        {},
        agents.map((a) => h("button.btn", { type: "button", testid: "demo-agent", onclick: () => attempt(a.token) }, a.name)),
      ),
    );
    box.hidden = false;
  } catch {
    // not the sandbox: nothing to offer
  }
}
