import { type Metadata, status } from '@grpc/grpc-js';
import { TOKEN_METADATA_KEY, tokenMatches } from '../protocol/token.ts';

/** The receiver's token check, shared by every service on its server (counts the failures). */
export class TokenCheck {
  /** calls without the right token, to any service */
  unauthenticated = 0;
  /** the gRPC error a call without the right token gets */
  readonly error = {
    code: status.UNAUTHENTICATED,
    details: `starlog receiver: missing or wrong ${TOKEN_METADATA_KEY}`,
  };
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = Buffer.from(token, 'utf8');
  }

  /** Whether `metadata` carries the token (constant-time compare); counts a failure. */
  check(metadata: Metadata): boolean {
    if (tokenMatches(this.expected, metadata.get(TOKEN_METADATA_KEY)[0])) return true;
    this.unauthenticated++;
    return false;
  }
}
