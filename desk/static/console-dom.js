// Tiny DOM helpers: every text goes in through textContent, never innerHTML, so customer text is inert.

/**
 * h("button.btn.primary", {testid: "take-next", onclick}, "Take next")
 * Props: testid → data-testid, data → data-* attributes, on* → listeners, class/className, style (an
 * object, set through the CSSOM, which the page's Content-Security-Policy allows where style="" is not),
 * anything else → attribute (true → empty attribute, false/null/undefined → left out).
 */
export function h(tag, props = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const node = document.createElement(name || "div");
  if (classes.length) node.className = classes.join(" ");
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "testid") node.dataset.testid = value;
    else if (key === "data") Object.assign(node.dataset, value);
    else if (key === "class" || key === "className") node.classList.add(...String(value).split(" ").filter(Boolean));
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key === "value") node.value = value;
    else if (key === "checked" || key === "disabled" || key === "selected") node[key] = Boolean(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace what an element shows. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Keep a scrolled list at the bottom across a re-render when it was at the bottom before. */
export function keepAtBottom(scroller, render) {
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  const before = scroller.scrollTop;
  render();
  scroller.scrollTop = atBottom ? scroller.scrollHeight : before;
}

/**
 * Re-render a container without losing the keyboard user's place: if focus was on an element inside it,
 * focus the element with the same data-testid in the same [data-id] item afterwards.
 */
export function keepFocus(container, render) {
  const active = document.activeElement;
  const inside = active && active !== document.body && container.contains(active);
  const testid = inside ? active.dataset.testid : null;
  const item = inside ? active.closest("[data-id]") : null;
  const id = item ? item.dataset.id : null;
  render();
  if (!inside) return;
  const scope = id ? container.querySelector(`[data-id="${CSS.escape(id)}"]`) : container;
  const again = scope && (testid ? (scope.dataset.testid === testid ? scope : scope.querySelector(`[data-testid="${CSS.escape(testid)}"]`)) : null);
  if (again) again.focus();
}

/** Fill a <select> of queues ("all" first, then one option per queue, `title(queue)` as its text), keeping
 * what was chosen; left alone when the queues are the ones it already lists (so an open picker stays open). */
export function fillQueuePicker(select, queues, allText, title) {
  const chosen = select.value;
  const names = queues.map((q) => q.name);
  if (names.join(" ") === [...select.options].slice(1).map((o) => o.value).join(" ")) return;
  fill(
    select,
    h("option", { value: "" }, allText),
    queues.map((q) => h("option", { value: q.name, selected: q.name === chosen }, title(q))),
  );
}

/** A table with a header row; `numeric[i]` right-aligns column i. */
export function table(headings, rows, numeric = []) {
  return h(
    "div.table-wrap",
    {},
    h(
      "table.grid",
      {},
      h("thead", {}, h("tr", {}, headings.map((x, i) => h(`th${numeric[i] ? ".num" : ""}`, { scope: "col" }, x)))),
      h("tbody", {}, rows),
    ),
  );
}

/** What a part shows when it has nothing to show. */
export function empty(text) {
  return h("p.empty-note", {}, text);
}
