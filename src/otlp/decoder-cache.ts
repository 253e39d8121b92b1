/**
 * The decoder's bounded caches of resources and scopes: a map bounded in entries and in
 * (estimated) bytes that forgets the least recently used entry (Map keeps insertion order).
 * An entry heavier than the whole byte budget is not kept at all.
 *
 * @module
 */
export class Lru<V> {
  readonly #map = new Map<string, { value: V; weight: number }>();
  readonly #max: number;
  readonly #maxBytes: number;
  #bytes = 0;
  constructor(max: number, maxBytes: number) {
    this.#max = max;
    this.#maxBytes = maxBytes;
  }
  get(key: string): V | undefined {
    const map = this.#map;
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    map.delete(key);
    map.set(key, entry);
    return entry.value;
  }
  set(key: string, value: V, weight: number): void {
    if (weight > this.#maxBytes) return;
    const map = this.#map;
    const old = map.get(key);
    if (old !== undefined) {
      this.#bytes -= old.weight;
      map.delete(key);
    }
    map.set(key, { value, weight });
    this.#bytes += weight;
    while (map.size > this.#max || this.#bytes > this.#maxBytes) {
      const oldest = map.keys().next().value as string;
      this.#bytes -= map.get(oldest)!.weight;
      map.delete(oldest);
    }
  }
  get size(): number {
    return this.#map.size;
  }
  get bytes(): number {
    return this.#bytes;
  }
}

/**
 * Estimated bytes a cache entry keeps alive: its key (the encoded resource or scope as a one-byte
 * string) plus the decoded attributes (about as large again; a resource's SDK `Resource` and raw
 * form share their strings) plus object overhead.
 */
export function entryWeight(key: string): number {
  return 2 * key.length + 256;
}
