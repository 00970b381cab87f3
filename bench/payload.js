/**
 * The payload every bench case encrypts: small objects of short strings and numbers, as telemetry
 * is, grown to about `bytes` of JSON.
 */
'use strict';

function payloadOf(bytes) {
  const items = [];
  let size = 20;
  for (let i = 0; size < bytes; i += 1) {
    const item = { i, name: `item-${i}`, tags: ['alpha', 'beta'], value: i * 1.5 };
    size += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return { cluster_uuid: 'bench', items };
}

module.exports = { payloadOf };
