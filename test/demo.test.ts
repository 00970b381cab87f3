import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

describe('npm run demo (the main job)', () => {
  it('carries a body from sender through mediator to receiver and prints that it arrived intact', () => {
    // `npm test` builds lib/ first; run the built demo as a user would.
    const out = execFileSync(process.execPath, [join(__dirname, '..', 'lib', 'cli', 'demo.js')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out).toMatch(/keys +made kid "kibana_demo1"/);
    expect(out).toMatch(/mediator fetched a \d+-byte body from the sender \(HTTP 200\)/);
    expect(out).toMatch(/mediator posted it to the receiver \(HTTP 200/);
    expect(out).toMatch(/receiver decrypted: \{"cluster_uuid":"c0ffee00/);
    expect(out).toContain('the decrypted payload equals what the sender sent');
  });
});
