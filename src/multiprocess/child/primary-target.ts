/** Where a child reaches its primary: the receiver's gRPC target and the token. */
export interface PrimaryTarget {
  /** `STARLOG_ENDPOINT`: `unix:///…/receiver.sock` or `http://127.0.0.1:PORT` */
  endpoint: string;
  /** `STARLOG_TOKEN`, or `''` when there is none */
  token: string;
  /** `STARLOG_HANDOFF_DIR`: the primary's hand-off directory (`protocol/handoff.ts`), if it has one */
  handoffDir: string | undefined;
  /** `STARLOG_PRIMARY_PID`, if set and a number */
  primaryPid: number | undefined;
}

/**
 * Reads the primary's receiver from the environment a primary gives its children
 * (`STARLOG_ENDPOINT`, `STARLOG_TOKEN`, `STARLOG_HANDOFF_DIR`).
 * @throws Error when `STARLOG_ENDPOINT` is not set
 */
export function primaryTarget(
  env: {
    readonly STARLOG_ENDPOINT?: string;
    readonly STARLOG_TOKEN?: string;
    readonly STARLOG_HANDOFF_DIR?: string;
    readonly STARLOG_PRIMARY_PID?: string;
  } = process.env,
): PrimaryTarget {
  const endpoint = env.STARLOG_ENDPOINT?.trim();
  if (!endpoint) {
    throw new Error(
      'starlog: STARLOG_ENDPOINT is not set; a child needs the environment of its primary (receiver.env)',
    );
  }
  return {
    endpoint,
    token: env.STARLOG_TOKEN?.trim() ?? '',
    handoffDir: env.STARLOG_HANDOFF_DIR?.trim() || undefined,
    primaryPid: Number(env.STARLOG_PRIMARY_PID) > 0 ? Number(env.STARLOG_PRIMARY_PID) : undefined,
  };
}
