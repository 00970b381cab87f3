/**
 * Loads a Node-API addon from one file, as Node loads a `.node` file: `process.dlopen`, never
 * `require`'s search of `node_modules` folders, and never JavaScript.
 *
 * @packageDocumentation
 */

/** The exports of the addon at `path` (an absolute path). Throws as `process.dlopen` does. */
export function loadAddon(path: string): unknown {
  const addon = { exports: {} as unknown };
  process.dlopen(addon, path);
  return addon.exports;
}
