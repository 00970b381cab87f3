/**
 * The JSON cost scan in WebAssembly with SIMD (`json-scan.wat`): loaded once, on first use, from
 * bytes inlined in `json-scan-module.ts`, and fed a payload of any size through its one 64 KiB
 * page. It only vouches for payloads within their limits; for anything else the JavaScript scan
 * of `bounded-json.ts` runs and decides.
 *
 * @packageDocumentation
 */
import { JSON_SCAN_WASM_BASE64 } from './json-scan-module';

/** What json-scan.wat exports. */
interface ScanExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  begin(maxDepth: number, maxValues: number): void;
  scan(length: number): number;
  stringOpen(): number;
}

/** The part of the WebAssembly API used here (the project's type libraries do not declare it). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

interface Scanner {
  readonly scan: ScanExports;
  /** The module's memory, where each chunk is copied. */
  readonly page: Uint8Array;
}

/** The scanner's memory is one page; a chunk fills it. */
const CHUNK = 65536;

/** Undefined until first use; null when WebAssembly or its SIMD is not there. */
let scanner: Scanner | null | undefined;

function load(): Scanner | null {
  try {
    const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
    if (api === undefined) return null;
    // Synchronous, once: the module is a few kilobytes.
    const module = new api.Module(Buffer.from(JSON_SCAN_WASM_BASE64, 'base64'));
    const scan = new api.Instance(module, {}).exports as ScanExports;
    return { scan, page: new Uint8Array(scan.memory.buffer, 0, CHUNK) };
  } catch {
    // No SIMD (the module does not compile) or WebAssembly refused: the JavaScript scan does it all.
    return null;
  }
}

/** Whether the WebAssembly scan is in use in this process (it is loaded by this call if not yet). */
export function simdJsonScanAvailable(): boolean {
  if (scanner === undefined) scanner = load();
  return scanner !== null;
}

/**
 * True when `bytes`, scanned as `checkJsonCostJs` scans them, nest at most `maxDepth` levels,
 * hold at most `maxValues` values and close every string they open. False when they may not,
 * or when the WebAssembly scan is unavailable: then only the JavaScript scan can tell.
 */
export function simdWithinLimits(bytes: Uint8Array, maxDepth: number, maxValues: number): boolean {
  if (scanner === undefined) scanner = load();
  if (scanner === null) return false;
  const { scan, page } = scanner;
  scan.begin(maxDepth, maxValues);
  for (let at = 0; at < bytes.length; at += CHUNK) {
    const chunk = bytes.subarray(at, at + CHUNK);
    page.set(chunk);
    if (scan.scan(chunk.length) !== 0) return false;
  }
  return scan.stringOpen() === 0;
}
