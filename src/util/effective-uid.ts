/** The effective user id, or undefined where there is none (Windows). */
export function effectiveUid(): number | undefined {
  return typeof process.geteuid === 'function' ? process.geteuid() : undefined;
}
