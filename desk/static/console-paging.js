// A paged list of conversations (GET /api/v1/conversations, newest activity first): the first page, the
// next ones on demand with the cursor of the last, and live events folded in by re-reading the first page
// only. A conversation an event names goes where that page puts it: to the top when it moved or is new,
// off the list when it no longer belongs (closed, taken elsewhere, filtered out).

export const PAGE_SIZE = 50;

export class Pages {
  /** query: the list's filters as a query string ("agent_id=…&state=…", or ""); onChange: re-render. */
  constructor(api, query, onChange, size = PAGE_SIZE) {
    this.api = api;
    this.query = query;
    this.onChange = onChange;
    this.size = size;
    this.items = [];
    this.next = null; // the cursor of the page after what is shown; null: everything is shown
    this.pages = 0;
    this.touched = new Set(); // ids named by events since the last read
    this.loading = false;
  }

  path(cursor) {
    const params = new URLSearchParams(this.query);
    params.set("limit", String(this.size));
    if (cursor) params.set("cursor", cursor);
    return `/conversations?${params}`;
  }

  /** From the first page again (sign-in, a new filter, a reconnection after events may have been missed). */
  async reload(query = this.query) {
    this.query = query;
    this.touched.clear();
    const { items, next } = await this.api.page(this.path(null));
    if (query !== this.query) return; // a newer filter was asked for meanwhile
    this.items = items;
    this.next = next;
    this.pages = 1;
    this.onChange();
  }

  /** The next page, after what is shown. */
  async more() {
    if (!this.next || this.loading) return;
    this.loading = true;
    try {
      const query = this.query;
      const { items, next } = await this.api.page(this.path(this.next));
      if (query !== this.query) return;
      const shown = new Set(this.items.map((c) => c.id));
      this.items = [...this.items, ...items.filter((c) => !shown.has(c.id))];
      this.next = next;
      this.pages += 1;
    } finally {
      this.loading = false;
    }
    this.onChange();
  }

  /** Events may have been missed (a reconnection): the next refresh starts from the first page. */
  forget() {
    this.pages = 0;
  }

  /** An event named this conversation: the next refresh places it. */
  touch(id) {
    if (id) this.touched.add(id);
  }

  /** Gone for good (closed, released): off the list now, without asking the server. */
  drop(id) {
    const before = this.items.length;
    this.items = this.items.filter((c) => c.id !== id);
    if (this.items.length !== before) this.onChange();
  }

  /** Fold in what changed: the first page read again; the rest of what is shown stays where it was. */
  async refresh() {
    if (!this.pages) return this.reload();
    const touched = this.touched;
    this.touched = new Set();
    const query = this.query;
    const { items: head, next } = await this.api.page(this.path(null));
    if (query !== this.query) return;
    const fresh = new Set(head.map((c) => c.id));
    const rest = this.items.filter((c) => !fresh.has(c.id) && !touched.has(c.id));
    if (this.pages === 1) {
      this.items = head; // only the first page was shown: it is the first page now
      this.next = next;
    } else {
      this.items = [...head, ...rest].sort(newestFirst); // the cursor still ends what was loaded
    }
    this.onChange();
  }
}

/** The list's order: latest change first, then the id, as the server pages it. */
export function newestFirst(a, b) {
  return b.updated_at - a.updated_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
