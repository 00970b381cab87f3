/**
 * RFC 7638 JWK thumbprints, the kid `addKey()` gives a key when none is named (as
 * `@elastic/request-crypto` 3.0 does).
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';

/**
 * The SHA-256 thumbprint of an RSA key (RFC 7638 §3.2), base64url without padding: the hash of
 * `{"e":…,"kty":"RSA","n":…}`, the required members in lexicographic order with no spaces.
 */
export function rsaThumbprint(jwk: { readonly e: string; readonly n: string }): string {
  // JSON.stringify writes exactly that form: the members are base64url strings, never escaped.
  const canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}
