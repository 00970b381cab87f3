/**
 * node-jose decryption of a compact JWE whose key wrap is not the one its key is stamped with.
 *
 * node-jose uses a key only with its own `alg`: a key stamped `RSA-OAEP` (every key 2.x made)
 * never opens an `RSA-OAEP-256` body, which is what `@elastic/request-crypto` 3.0 senders emit
 * for those very keys. For such a body this decrypts with a copy of the key that has no `alg`,
 * so node-jose takes the header's, and reports the stamped key itself, as node-jose would.
 *
 * @packageDocumentation
 */
import type * as jose from 'node-jose';

import { isWrapAlgorithm, type WrapAlgorithm } from '../core/algorithms';

/** Longest protected header read here; a longer one is left to node-jose as it is. */
const MAX_HEADER_TEXT = 16384;

/** The `alg`, `enc` and `kid` of a compact JWE's protected header, when it has usable ones. */
function compactHeader(jwe: string): { alg: WrapAlgorithm; enc: string; kid: string } | undefined {
  const end = jwe.indexOf('.');
  if (end <= 0 || end > MAX_HEADER_TEXT || jwe.split('.').length !== 5) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(jwe.slice(0, end), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null) return undefined;
  const { alg, enc, kid } = header as Record<string, unknown>;
  // enc becomes a node-jose algorithm pattern below: only a plain name (no `*`, `!` or space).
  if (!isWrapAlgorithm(alg) || typeof enc !== 'string' || !/^[A-Za-z0-9-]+$/.test(enc) || typeof kid !== 'string') return undefined;
  return { alg, enc, kid };
}

/** True for an RSA key stamped with the other of the two supported wraps. */
function stampedOtherwise(key: jose.JWK.Key, alg: WrapAlgorithm): boolean {
  return key.kty === 'RSA' && isWrapAlgorithm(key.alg) && key.alg !== alg && (key.use as string) !== 'sig';
}

/** The key node-jose would not use for a body wrapped with `alg`, though the body names it. */
function keyToCross(keys: jose.JWK.Key | jose.JWK.KeyStore, JWK: typeof jose.JWK, alg: WrapAlgorithm, kid: string): jose.JWK.Key | undefined {
  if (JWK.isKeyStore(keys)) {
    // A key node-jose itself finds for this header needs no copy.
    if (keys.get({ kid, alg, use: 'enc' } as jose.JWK.KeyStoreGetOptions)) return undefined;
    return keys.all({ kid }).find((key) => stampedOtherwise(key, alg));
  }
  // One key given: node-jose tries it whatever kid the body names, and so does this.
  return stampedOtherwise(keys, alg) ? keys : undefined;
}

// One copy per stamped key, made once: importing costs more than the RSA operation.
const copies = new WeakMap<jose.JWK.Key, Promise<jose.JWK.Key>>();

function copyWithoutAlg(JWK: typeof jose.JWK, key: jose.JWK.Key): Promise<jose.JWK.Key> {
  let copy = copies.get(key);
  if (copy === undefined) {
    const members = { ...(key.toJSON(true) as Record<string, unknown>) };
    delete members.alg;
    copy = JWK.asKey(members);
    copies.set(key, copy);
  }
  return copy;
}

/**
 * node-jose's `JWE.createDecrypt(keys).decrypt(jwe)`, except that a compact JWE wrapped with
 * `RSA-OAEP` or `RSA-OAEP-256` also opens with a key of `keys` stamped with the other one. No
 * other algorithm is let through: the copy decrypts only the header's own `alg` and `enc`.
 */
export async function decryptAnyKeyWrap(
  JWK: typeof jose.JWK,
  JWE: typeof jose.JWE,
  jwe: unknown,
  keys: jose.JWK.Key | jose.JWK.KeyStore,
): Promise<jose.JWE.DecryptResult> {
  const header = typeof jwe === 'string' ? compactHeader(jwe) : undefined;
  const stamped = header === undefined ? undefined : keyToCross(keys, JWK, header.alg, header.kid);
  if (header === undefined || stamped === undefined) return JWE.createDecrypt(keys).decrypt(jwe as string);
  const copy = await copyWithoutAlg(JWK, stamped);
  const result = await JWE.createDecrypt(copy, { algorithms: [header.alg, header.enc] }).decrypt(jwe as string);
  result.key = stamped;
  return result;
}
