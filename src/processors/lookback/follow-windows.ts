/**
 * The windows that start when a key's buffer is flushed or released: for `followFor` ms after a
 * flush the key's later records that would be held pass straight through (`follow`, the rest of
 * a failing request is kept); after a release (its request ended well) they are discarded at once
 * (`follow: false`, records of other processes that arrive after the request ended are not held until
 * `maxAge`).
 *
 * Cost matters here (issue 13: a record that passes straight through must cost about what `next`
 * costs): a window is changed in place by the processor (no `Map.delete` + `Map.set` per record, no
 * call here for the ERRORs of a request whose window is open), and the window
 * of the last lookup is remembered by an identity token (the record's span context object, which
 * the records of one span share), so the records of one request that come one after the other
 * cost a pointer comparison instead of a `Map` lookup. Keys themselves are never compared here:
 * comparing two different 32-character trace id strings costs ~40 ns on V8 (an out-of-line
 * string comparison), more than the lookup. Expired windows go at the next lookup of their key or at
 * {@link FollowWindows.prune} (the sweep timer); at most `maxKeys` windows exist at once (the
 * oldest created goes first).
 */

/** A key no caller can pass (the "no last key" marker). */
export const NO_TOKEN: object = Object.freeze({});

/**
 * One key's window, changed in place by its owner (the processor extends `until` at every
 * flushing record of the key: a field write, no `Map` operation).
 */
export class Window {
  /** End of the window, ms on the processor's clock. */
  until: number;
  /** `true`: the key's records that would be held pass (after a flush); `false`: discarded. */
  follow: boolean;
  constructor(until: number, follow: boolean) {
    this.until = until;
    this.follow = follow;
  }
}

export class FollowWindows {
  private readonly windows = new Map<unknown, Window>();
  /**
   * The token of the last lookup or change (`NO_TOKEN`: none), and its key's window (`null`: none).
   * Read-only outside this class (the processor copies a following one into its own fast-path
   * fields).
   */
  lastToken: object = NO_TOKEN;
  lastWindow: Window | null = null;

  /** Windows open now (expired ones not yet removed included). */
  get size(): number {
    return this.windows.size;
  }

  /**
   * `key`'s window (possibly expired: compare `until` with now; {@link expire} removes it), or
   * `null`. A run of lookups with the same token costs a pointer comparison each. Never throws.
   * @param token - an object that stands for `key` (the same token always means the same key),
   *   or `undefined`
   */
  find(key: unknown, token: object | undefined): Window | null {
    if (token !== undefined && token === this.lastToken) return this.lastWindow;
    const w = this.windows.get(key) ?? null;
    this.lastToken = token ?? NO_TOKEN;
    this.lastWindow = w;
    return w;
  }

  /** `key`'s window (possibly expired; null: none), without touching the last lookup. */
  peek(key: unknown): Window | null {
    return this.windows.get(key) ?? null;
  }

  /** Removes `key`'s (expired) window. */
  expire(key: unknown): void {
    this.remove(key);
  }

  /**
   * Opens (or reopens, or switches) `key`'s window until `until`, in place when it exists.
   * @param maxKeys - bound on the number of windows (the oldest created goes)
   */
  open(
    key: unknown,
    token: object | undefined,
    until: number,
    follow: boolean,
    maxKeys: number,
  ): void {
    let w: Window | null | undefined;
    if (token !== undefined && token === this.lastToken && this.lastWindow !== null) {
      w = this.lastWindow;
    } else w = this.windows.get(key);
    if (w !== undefined && w !== null) {
      w.until = until;
      w.follow = follow;
    } else {
      w = new Window(until, follow);
      this.windows.set(key, w);
      if (this.windows.size > maxKeys) {
        const first = this.windows.keys().next();
        if (!first.done) this.remove(first.value);
      }
    }
    this.lastToken = token ?? NO_TOKEN;
    this.lastWindow = w;
  }

  /** Removes the windows that ended by `now`. */
  prune(now: number): void {
    for (const [key, w] of this.windows) {
      if (w.until <= now) this.remove(key);
    }
  }

  /** Removes every window. */
  clear(): void {
    this.windows.clear();
    this.forget();
  }

  private remove(key: unknown): void {
    this.windows.delete(key);
    this.forget(); // whichever key the token stood for
  }

  private forget(): void {
    this.lastToken = NO_TOKEN;
    this.lastWindow = null;
  }
}
