/**
 * The legacy body (`@elastic/request-crypto`'s): an envelope of `encryptedAESKey` (a compact JWE
 * of a passphrase) and `encryptedPayload` (AES-256-GCM under a PBKDF2 key of that passphrase),
 * opened the way every format is (`WireFormat`).
 *
 * @packageDocumentation
 */
import { BodyTooLargeError } from '../../core/errors';
import type { BodyHeader } from '../../core/types';
import type { InspectedBody, SealOptions, WireFormat } from '../wire-format';
import { openEnvelope, packBody, type PackedBody } from './envelope';
import { checkKeyEnvelope, openKeyEnvelope, wrapPassphrase, type CheckedKeyEnvelope } from './key-envelope';
import { openPayload, parseSealedPayload, sealPayloadWith, type PayloadKey, type SealedPayload } from './payload-cipher';

/** A legacy body whose payload's size and key envelope's header are checked. */
export interface InspectedLegacyBody extends InspectedBody {
  readonly envelope: CheckedKeyEnvelope;
  readonly sealed: SealedPayload;
}

/** What sealing a legacy body takes. */
export interface LegacySealOptions extends SealOptions {
  /** A fresh passphrase and the key PBKDF2 derived from it (prepared ahead); used for this body only. */
  readonly payloadKey: PayloadKey;
}

/** The legacy format. Everything about the body is settled before any key is used or PBKDF2 runs. */
export const LEGACY_BODY: WireFormat<PackedBody, InspectedLegacyBody, LegacySealOptions> = {
  name: 'legacy',
  parse: (text) => openEnvelope(text),
  inspect(packed, limits) {
    const sealed = parseSealedPayload(packed.encryptedPayload);
    if (sealed.ciphertext.length > limits.maxPayloadBytes) throw new BodyTooLargeError('body is too large: its payload exceeds the limit');
    const envelope = checkKeyEnvelope(packed.encryptedAESKey);
    return { envelope, sealed, learned: envelope.learned };
  },
  async open({ envelope, sealed }, key, unwrap, wantPlaintext) {
    const passphrase = await openKeyEnvelope(envelope, unwrap);
    try {
      const metadata = {
        key: { ...key.metadata },
        protected: [...envelope.jwe.headerNames],
        header: { ...envelope.jwe.header } as BodyHeader,
        format: 'legacy' as const,
      };
      return { plaintext: wantPlaintext ? await openPayload(passphrase, sealed) : undefined, metadata };
    } finally {
      passphrase.fill(0);
    }
  },
  // The passphrase wrapped with `keyWrapAlgorithm` (by default the key's), the payload sealed under
  // the key PBKDF2 derived from it.
  seal: (key, json, { payloadKey, keyWrapAlgorithm }) =>
    packBody(wrapPassphrase(key, payloadKey.passphrase, keyWrapAlgorithm), sealPayloadWith(payloadKey, json)),
};
