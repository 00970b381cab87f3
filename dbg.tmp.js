const rc = require('./lib'); const v = require('./test/fixtures/elastic-request-crypto-2.0.3.json');
(async () => {
  const d = await rc.createRequestDecryptor(v.privateJWKS);
  const body = await (await rc.createRequestEncryptor(v.publicJWKS)).encrypt('kibana1', {a:1});
  const inputs = {u: undefined, n: null, num: 42, obj: {body:'x'}, e: '', eb: Buffer.alloc(0), na: Buffer.from([0xc3,0xa9,0x41,0x41]), nb: 'not base64url!', pad: body+'='};
  for (const [k, x] of Object.entries(inputs)) { const t = Date.now(); try { await d.decrypt(x); console.log(k, 'RESOLVED') } catch (e) { console.log(k, e.code, Date.now()-t) } }
})();
