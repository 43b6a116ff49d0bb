// Reference Nuvera request signer in Node.js, built-in modules only (node >= 18).
//   node nuvera.mjs vectors [docs/spec/vectors.json]   check every vector
//   node nuvera.mjs client [credentials.json]          run the conformance plan
// The client mode reads the file `nuvera sandbox conformance` writes
// (default: $NUVERA_CONFORMANCE_CREDENTIALS). Written from docs/spec/ only.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';

const b64url = (data) => Buffer.from(data).toString('base64url');
const sha256hex = (data) => crypto.createHash('sha256').update(data).digest('hex');

// RFC 8785 is defined on JSON.stringify; keys sorted by UTF-16 code units.
function jcs(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(jcs).join(',') + ']';
  return '{' + Object.keys(value).sort()
    .map((k) => JSON.stringify(k) + ':' + jcs(value[k])).join(',') + '}';
}

export function kidOf(key) {
  const { e, n } = crypto.createPublicKey(key).export({ format: 'jwk' });
  return b64url(crypto.createHash('sha256').update(`{"e":"${e}","kty":"RSA","n":"${n}"}`).digest());
}

// PROTOCOL §2.1: a bare trailing '?' (empty query) is dropped before signing/sending.
export const signedUri = (uri) => (uri.indexOf('?') === uri.length - 1 ? uri.slice(0, -1) : uri);

export function sign(key, { method, uri, body, iat, jti, ttl = 30 }) {
  const kid = kidOf(key);
  const bodyHash = sha256hex(body);
  const headerJson = jcs({ alg: 'RS256', kid, typ: 'JWT' });
  const payloadJson = jcs({
    aud: 'nuvera-rest-api', body_hash: bodyHash, exp: iat + ttl, iat,
    iss: 'nuvera-api', jti, method, uri: signedUri(uri),
  });
  const signingInput = `${b64url(headerJson)}.${b64url(payloadJson)}`;
  const signature = crypto.sign('sha256', Buffer.from(signingInput, 'ascii'), key);
  return { signed_uri: signedUri(uri), body_hash: bodyHash, kid, header_json: headerJson,
    payload_json: payloadJson, signing_input: signingInput, token: `${signingInput}.${b64url(signature)}` };
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CRC = Array.from({ length: 256 }, (_, n) => {
  for (let k = 0; k < 8; k++) n = n & 1 ? 0xedb88320 ^ (n >>> 1) : n >>> 1;
  return n >>> 0;
});
const crc32 = (text) => ~[...Buffer.from(text, 'ascii')]
  .reduce((c, byte) => CRC[(c ^ byte) & 0xff] ^ (c >>> 8), ~0) >>> 0;
function base62(value, width) {
  let out = '';
  for (; value > 0; value = Math.floor(value / 62)) out = BASE62[value % 62] + out;
  return out.padStart(width, '0');
}

// The API key checks in order (docs/spec/vectors.md): null when valid, else the reason.
export function apiKeyProblem(text) {
  const key = text.trim();
  if (!key) return 'empty';
  if (!key.startsWith('nvk_')) return 'prefix';
  if (!['live_', 'test_'].includes(key.slice(4, 9))) return 'environment';
  if (key.length !== 47) return 'length';
  if (![...key.slice(9)].every((c) => BASE62.includes(c))) return 'charset';
  return base62(crc32(key.slice(0, -6)), 6) === key.slice(-6) ? null : 'checksum';
}

function runVectors(path) {
  const doc = JSON.parse(fs.readFileSync(path, 'utf8'));
  let passed = 0, failed = 0;
  const check = (name, ok) => { if (ok) passed++; else { failed++; console.log(`FAIL ${name}`); } };
  for (const v of doc.vectors) {
    const key = crypto.createPrivateKey(doc.keys[v.input.key].pem);
    const got = sign(key, { ...v.input, body: Buffer.from(v.input.body_base64, 'base64') });
    const wrong = Object.keys(v.output).filter((stage) => got[stage] !== v.output[stage]);
    check(`${v.name}: ${wrong.join(', ')}`, wrong.length === 0);
  }
  for (const k of doc.api_keys) check(`api key ${k.key}`, apiKeyProblem(k.key) === (k.valid ? null : k.reason));
  for (const k of doc.kids) check(`kid ${k.key}`, kidOf(crypto.createPrivateKey(doc.keys[k.key].pem)) === k.kid);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0;
}

function body(request) {
  const headers = { ...request.headers };
  if (request.multipart) {
    const boundary = 'nuvera-node-' + crypto.randomBytes(8).toString('hex');
    const parts = request.multipart.fields.map(([name, value]) => Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    for (const f of request.multipart.files) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"; ` +
        `filename="${f.filename}"\r\nContent-Type: ${f.content_type}\r\n\r\n`),
      Buffer.from(f.content_base64, 'base64'), Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    headers['Content-Type'] = `multipart/form-data; boundary=${boundary}`;
    return [Buffer.concat(parts), headers];
  }
  let data = Buffer.from(request.body_base64 || '', 'base64');
  if (request.gzip) { data = zlib.gzipSync(data); headers['Content-Encoding'] = 'gzip'; }
  return [data, headers];
}

// One HTTP/1.1 exchange; the target goes on the request line exactly as given.
function send(base, method, target, headers, data, stream) {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: target,
      headers: stream ? headers : { ...headers, 'Content-Length': data.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (stream) for (let i = 0; i < data.length; i += 100) req.write(data.subarray(i, i + 100));
    req.end(stream ? undefined : data);
  });
}

export class Client {
  constructor(base, apiKey, privateKeyPem, { maxRetries = 2, ttl = 30 } = {}) {
    Object.assign(this, { base, apiKey, key: crypto.createPrivateKey(privateKeyPem), maxRetries, ttl });
    this.offset = 0; // seconds learned from the server (§4); replaced, never summed
  }

  async request(method, target, headers = {}, data = Buffer.alloc(0), stream = false) {
    const uri = signedUri(target);
    const idempotent = method !== 'POST' || Object.keys(headers).some((h) => h.toLowerCase() === 'idempotency-key');
    let retries = 0, resigned = false;
    for (;;) {
      const iat = Math.floor(Date.now() / 1000 + this.offset);
      const jti = crypto.randomBytes(16).toString('hex'); // fresh for every attempt
      const { token } = sign(this.key, { method, uri, body: data, iat, jti, ttl: this.ttl });
      const res = await send(this.base, method, uri, { ...headers, 'x-api-key': this.apiKey,
        Authorization: `Bearer ${token}` }, data, stream);
      let error = {};
      try { error = JSON.parse(res.body.toString('utf8')).error || {}; } catch { /* not JSON */ }
      const serverTime = error.details?.server_time ?? Date.parse(res.headers.date) / 1000;
      if (res.status === 401 && ['token_expired', 'token_not_yet_valid'].includes(error.code) && !resigned) {
        this.offset = serverTime - Date.now() / 1000; // once per call, outside the budget
        resigned = true;
        continue;
      }
      if ([429, 500, 502, 503, 504].includes(res.status) && idempotent && retries < this.maxRetries) {
        const after = Number(res.headers['retry-after']);
        const wait = Number.isFinite(after) ? after : Math.random() * Math.min(8, 0.5 * 2 ** retries);
        if (wait > 60) return res;
        retries++;
        await new Promise((r) => setTimeout(r, wait * 1000));
        continue;
      }
      return res;
    }
  }
}

async function runClient(path) {
  const creds = JSON.parse(fs.readFileSync(path, 'utf8'));
  const plan = JSON.parse((await send(creds.base_url, 'GET', '/conformance/plan', {}, Buffer.alloc(0))).body);
  const client = new Client(creds.base_url, creds.api_key, creds.private_key_pem);
  for (const c of plan.cases) {
    const [data, headers] = body(c.request);
    headers[plan.case_header] = c.id;
    const res = await client.request(c.request.method, c.request.target, headers, data, !!c.request.stream);
    console.log(`${c.id}: ${res.status}`);
  }
  const report = JSON.parse((await send(creds.base_url, 'POST', '/conformance/finish', {}, Buffer.alloc(0))).body);
  console.log(report.summary);
  return report.ok;
}

const [mode = 'vectors', arg] = process.argv.slice(2);
if (mode === 'vectors') {
  process.exitCode = runVectors(arg || 'docs/spec/vectors.json') ? 0 : 1;
} else if (mode === 'client') {
  process.exitCode = (await runClient(arg || process.env.NUVERA_CONFORMANCE_CREDENTIALS)) ? 0 : 1;
} else {
  console.error('usage: node nuvera.mjs vectors [vectors.json] | client [credentials.json]');
  process.exitCode = 2;
}
