/**
 * Payload keys derived ahead of need. PBKDF2 (10,000 × SHA-512) is most of the cost of a legacy
 * body, and it depends on nothing but random bytes, so the encryptor keeps a few derivations
 * running on libuv's thread pool: the next `encrypt` then finds its key ready. Each prepared key
 * is used for exactly one body and then dropped; nothing is ever reused.
 *
 * @packageDocumentation
 */
import { generatePassphrase } from './passphrase';
import { makePayloadKey, type PayloadKey } from './payload-cipher';

/** Hands out fresh payload keys, keeping up to `depth` derived (or deriving) ahead. */
export class PreparedKeys {
  private readonly ahead: Array<Promise<PayloadKey>> = [];

  /** @param depth how many keys to derive ahead; 0 derives each key on demand. */
  constructor(private readonly depth: number) {}

  /** A fresh key: a prepared one when there is one, else one derived now. Refills behind itself. */
  take(): Promise<PayloadKey> {
    const next = this.ahead.shift() ?? makePayloadKey(generatePassphrase());
    while (this.ahead.length < this.depth) {
      const prepared = makePayloadKey(generatePassphrase());
      // Whoever takes it sees a failure; until then it must not count as unhandled.
      prepared.catch(() => undefined);
      this.ahead.push(prepared);
    }
    return next;
  }
}
