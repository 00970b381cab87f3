/**
 * `JWKManager`: a {@link JWKSManager} whose `addKey` makes encryption keys.
 *
 * @packageDocumentation
 */
import type * as jose from 'node-jose';

import { ALLOWED_MODULI, ENC_MODULUS, type WrapAlgorithm } from '../core/algorithms';
import { InvalidArgumentError } from '../core/errors';
import { createJWKS, JWKSManager, RSA_ALGORITHM } from './jwks';
import { nodeJose } from './node-jose';
import type { JWKS } from '../core/types';

export { ALLOWED_MODULI, ENC_MODULUS };

/** Options of {@link JWKManager.addKey}. */
export interface AddKeyOptions {
  /** 2048 (default), 3072 or 4096. */
  modulusLength?: number;
  /** `RSA-OAEP` (default, what the original makes) or `RSA-OAEP-256`. */
  alg?: WrapAlgorithm;
}

/** Manages a set of encryption keys. */
export class JWKManager extends JWKSManager {
  /**
   * Makes and adds an RSA encryption key (`use` enc). `addKey(kid)` makes what the original made:
   * RSA-2048 for RSA-OAEP. Without a kid (`undefined`), the key is named by its RFC 7638
   * thumbprint (SHA-256, base64url), as `@elastic/request-crypto` 3.0 does. Rejects with
   * `InvalidArgumentError` for other sizes or algorithms, an empty kid, or a kid already in the
   * set. A number in place of `options` is read as the modulus length.
   */
  public override addKey(kid?: string, options: AddKeyOptions | number = {}): Promise<void> {
    const opts: AddKeyOptions = typeof options === 'number' ? { modulusLength: options } : options;
    const modulus = opts.modulusLength ?? ENC_MODULUS;
    if (!ALLOWED_MODULI.includes(modulus)) {
      return Promise.reject(new InvalidArgumentError('invalid argument: modulusLength must be 2048, 3072 or 4096'));
    }
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0)) {
      return Promise.reject(new InvalidArgumentError('invalid argument: kid must be a non-empty string'));
    }
    return super.addKey(kid, modulus, 'enc', opts.alg ?? RSA_ALGORITHM);
  }
}

/**
 * A {@link JWKManager} over `jwks` (an object or its JSON text), or over an empty set. `jwk` lets
 * tests inject a node-jose `JWK` namespace.
 */
export async function createJWKManager(jwks?: JWKS | string, jwk?: typeof jose.JWK): Promise<JWKManager> {
  const JWK = jwk ?? nodeJose().JWK;
  return new JWKManager(await createJWKS(JWK, jwks), JWK);
}
