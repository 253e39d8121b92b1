/**
 * The windows that start when a key's buffer is flushed or released: for `followFor` ms after a
 * flush the key's later records that would be held pass straight through (`'follow'`, the rest of
 * a failing request is kept); after a release (its request ended well) they are discarded at once
 * (`'done'`, records of other processes that arrive after the request ended are not held until
 * `maxAge`).
 *
 * Cost matters here (issue 13: a record that passes straight through must cost about what `next`
 * costs): a window is changed in place (no `Map.delete` + `Map.set` per record), and the window
 * of the last lookup is remembered by an identity token (the record's span context object, which
 * the records of one span share), so the records of one request that come one after the other
 * cost a pointer comparison instead of a `Map` lookup. Keys themselves are never compared here:
 * comparing two different 32-character trace id strings costs ~40 ns on V8 (an out-of-line
 * string comparison), more than the lookup. Expired windows go at the next lookup of their key or at
 * {@link FollowWindows.prune} (the sweep timer); at most `maxKeys` windows exist at once (the
 * oldest created goes first).
 */

/** A key no caller can pass (the "no last key" marker). */
const NONE: object = Object.freeze({});

/** What a window does to the records of its key that would be held. */
export type WindowMode = 'follow' | 'done';

/** One key's window. */
class Window {
  /** End of the window, ms on the processor's clock. */
  until: number;
  mode: WindowMode;
  constructor(until: number, mode: WindowMode) {
    this.until = until;
    this.mode = mode;
  }
}

export class FollowWindows {
  private readonly windows = new Map<unknown, Window>();
  /** The token of the last lookup or change (`NONE`: none), and its key's window (`null`: none). */
  private lastToken: object = NONE;
  private lastWindow: Window | null = null;

  /** Windows open now (expired ones not yet removed included). */
  get size(): number {
    return this.windows.size;
  }

  /**
   * The mode of `key`'s window at `now`, or `undefined` when it has none (an expired window is
   * removed). Never throws.
   * @param token - an object that stands for `key` (the same token always means the same key),
   *   or `undefined`
   */
  lookup(key: unknown, now: number, token: object | undefined): WindowMode | undefined {
    let w: Window | null | undefined;
    if (token !== undefined && token === this.lastToken) w = this.lastWindow;
    else {
      if (this.windows.size === 0) return undefined;
      w = this.windows.get(key) ?? null;
      this.lastToken = token ?? NONE;
      this.lastWindow = w;
    }
    if (w === null) return undefined;
    if (now < w.until) return w.mode;
    this.windows.delete(key);
    this.lastToken = NONE;
    this.lastWindow = null;
    return undefined;
  }

  /**
   * Opens (or reopens, or switches) `key`'s window until `until`, in place when it exists.
   * @param maxKeys - bound on the number of windows (the oldest created goes)
   */
  open(
    key: unknown,
    token: object | undefined,
    until: number,
    mode: WindowMode,
    maxKeys: number,
  ): void {
    let w: Window | null | undefined;
    if (token !== undefined && token === this.lastToken && this.lastWindow !== null) {
      w = this.lastWindow;
    } else w = this.windows.get(key);
    if (w !== undefined && w !== null) {
      w.until = until;
      w.mode = mode;
    } else {
      w = new Window(until, mode);
      this.windows.set(key, w);
      if (this.windows.size > maxKeys) {
        const first = this.windows.keys().next();
        if (!first.done) this.remove(first.value);
      }
    }
    this.lastToken = token ?? NONE;
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
    this.lastToken = NONE;
    this.lastWindow = null;
  }
}
