import type { Encryptor } from 'request-crypto';

/** What the sender reports. */
export interface ClusterStats {
  cluster_uuid: string;
  nodes: number;
}

/** Encrypts the stats for the telemetry service's key and posts them. */
export async function sendTelemetry(encryptor: Encryptor, fetch: typeof globalThis.fetch, stats: ClusterStats): Promise<void> {
  const body = await encryptor.encrypt('kibana', stats, { format: 'jwe' });
  const response = await fetch('https://telemetry.example.com/v3/send', { method: 'POST', body });
  if (!response.ok) throw new Error(`telemetry refused: ${response.status}`);
}
