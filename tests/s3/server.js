// An S3 endpoint for sluice's tests: s3rver (the S3 REST protocol over a folder) behind a check
// of every request's AWS SigV4 signature with the aws4 package, as AWS would. A request signed
// with another key, secret or region, or whose canonical request differs (path or query encoding,
// signed headers), gets 403 SignatureDoesNotMatch, so signing bugs fail tests.
//
// node server.js --dir DIR --ready FILE [--port P] [--bucket B]... [--log FILE]
//                [--slowdown N] [--region R]
//   --port P       the port (0: a free one)
//   --ready FILE   written once it listens: {"endpoint": "http://127.0.0.1:P", "pid": ...}
//   --log FILE     one line per request: "METHOD URL STATUS"
//   --slowdown N   answer every Nth request with 503 SlowDown instead of serving it
//   --region R     the region requests must be signed for (default us-east-1); a request
//                  signed for another gets AWS's AuthorizationHeaderMalformed naming R
//   --die-on S     crash (SIGKILL itself) at the Nth request whose "METHOD URL" contains S,
//   --die-nth N    after s3rver has done it and before the client hears back: the worst moment
//                  for an endpoint to die, at an exact point instead of a timing guess
// Credentials expected: SLUICE_TEST_S3_KEY / SLUICE_TEST_S3_SECRET from the environment.
//
// One process: the signature check runs in front of s3rver's request handler in the same
// HTTP server, so each body crosses one socket and one HTTP parser (a separate proxy process
// parsed every byte twice and cost half as much CPU again as s3rver itself; bench/README.md).
'use strict';
const fs = require('fs');
const http = require('http');
const aws4 = require('aws4');
const S3rver = require('s3rver');

function parseArgs(argv) {
  const o = { port: 0, buckets: [], slowdown: 0, region: 'us-east-1', dieOn: '', dieNth: 1 };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (k === '--dir') o.dir = v;
    else if (k === '--ready') o.ready = v;
    else if (k === '--port') o.port = Number(v);
    else if (k === '--bucket') o.buckets.push(v);
    else if (k === '--log') o.log = v;
    else if (k === '--slowdown') o.slowdown = Number(v);
    else if (k === '--region') o.region = v;
    else if (k === '--die-on') o.dieOn = v;
    else if (k === '--die-nth') o.dieNth = Number(v);
    else throw new Error('unknown argument ' + k);
  }
  if (!o.dir || !o.ready) throw new Error('--dir and --ready are required');
  return o;
}

const opts = parseArgs(process.argv);
const accessKeyId = process.env.SLUICE_TEST_S3_KEY || 'SLUICETESTACCESSKEY';
const secretAccessKey = process.env.SLUICE_TEST_S3_SECRET || 'sluice-test-secret-key-0123456789';
// Written synchronously, before the response goes out, so a test that reads the log after a
// request returned finds that request in it.
const logFd = opts.log ? fs.openSync(opts.log, 'a') : null;
let counter = 0;
let dieMatches = 0;

function xmlError(res, status, code, message, extra, headers) {
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code + '</Code><Message>' +
      message + '</Message>' + (extra || '') + '<RequestId>sluice-test</RequestId></Error>';
  res.writeHead(status, Object.assign({ 'Content-Type': 'application/xml',
                                        'Content-Length': Buffer.byteLength(body) }, headers || {}));
  res.end(body);
  return status;
}

// Checks the Authorization header; returns null when the signature is right, else a function
// that answers the refusal.
function verify(req) {
  const auth = req.headers['authorization'] || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return (res) => xmlError(res, 403, 'AccessDenied', 'missing or malformed SigV4 Authorization header');
  const [, key, , region, signedHeaders, signature] = m;
  if (key !== accessKeyId) {
    return (res) => xmlError(res, 403, 'InvalidAccessKeyId',
                             'The AWS Access Key Id you provided does not exist in our records.');
  }
  if (region !== opts.region) {
    return (res) => xmlError(res, 400, 'AuthorizationHeaderMalformed',
                             "The authorization header is malformed; the region '" + region +
                                 "' is wrong; expecting '" + opts.region + "'",
                             '<Region>' + opts.region + '</Region>',
                             { 'x-amz-bucket-region': opts.region });
  }
  if (!req.headers['x-amz-content-sha256']) {
    return (res) => xmlError(res, 400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  // Exactly the headers the client signed; aws4 would leave out a few (range, user-agent) that
  // AWS signs when the client lists them.
  const headers = {};
  const include = Object.create(null);
  for (const h of signedHeaders.split(';')) {
    include[h] = true;
    if (req.headers[h] === undefined) {
      return (res) => xmlError(res, 403, 'SignatureDoesNotMatch', 'signed header ' + h + ' is missing');
    }
    headers[h] = req.headers[h];
  }
  if (!signedHeaders.split(';').includes('host')) {
    return (res) => xmlError(res, 403, 'SignatureDoesNotMatch', 'host is not signed');
  }
  const signed = aws4.sign({ method: req.method, path: req.url, service: 's3', region, headers,
                             extraHeadersToInclude: include },
                           { accessKeyId, secretAccessKey });
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers.Authorization)[1];
  if (expected !== signature) {
    return (res) => xmlError(res, 403, 'SignatureDoesNotMatch',
                             'The request signature we calculated does not match the signature you provided.');
  }
  return null;
}

// s3rver writes an object's file, then its .md5 and metadata files: killed in between (the tests
// kill the endpoint on purpose), it leaves an object it can neither list nor serve, and answers
// 500 for its whole prefix from then on. A real endpoint never shows half an object after a
// crash, so at start the harness removes such remains, as a store's recovery would.
function removeHalfWrittenObjects(dir) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    return;
  }
  const names = new Set(entries.map((e) => e.name));
  for (const e of entries) {
    const p = dir + '/' + e.name;
    if (e.isDirectory()) {
      removeHalfWrittenObjects(p);
    } else if (e.name.endsWith('._S3rver_object')) {
      const base = e.name.slice(0, -'._S3rver_object'.length);
      if (!names.has(base + '._S3rver_metadata.json') || !names.has(base + '._S3rver_object.md5')) {
        for (const s of ['._S3rver_object', '._S3rver_metadata.json', '._S3rver_object.md5']) {
          fs.rmSync(dir + '/' + base + s, { force: true });
        }
      }
    }
  }
}

// s3rver 3.7 writes an object in place and answers once its bytes are handed to the write stream,
// not once they are written: killed (the tests kill the endpoint on purpose) just after a PUT was
// acknowledged, it can lose the tail of an object the client was told is stored, and a PUT over
// an existing key leaves the old object torn. Real S3 makes a PUT or a copy all-or-nothing and
// durable before it answers. So the harness makes them so: the new bytes, checksum and metadata
// go to files in a scratch folder beside the store (outside every bucket, so no listing sees
// them), fully written before anything is renamed in; the checksum and metadata are renamed
// first and the object last, the object's rename being the commit point (a kill before it leaves
// the old object whole, or none).
function scratchFolder(root) {
  const path = require('path');
  return path.join(path.dirname(path.resolve(root)),
                   path.basename(path.resolve(root)) + '.s3rver-scratch');
}

// Removes what a killed endpoint left half-done: half-written objects and the scratch folder.
function recover(root) {
  removeHalfWrittenObjects(root);
  fs.rmSync(scratchFolder(root), { recursive: true, force: true });
  fs.mkdirSync(scratchFolder(root), { recursive: true });
}

function makeWritesAtomic(root) {
  const path = require('path');
  const crypto = require('crypto');
  const fsp = fs.promises;
  const Store = require('s3rver/lib/stores/filesystem');
  const scratch = scratchFolder(root);
  let serial = 0;
  const temp = () => path.join(scratch, process.pid + '.' + ++serial);
  // Renames `from` to `to`, creating `to`'s folder again if a concurrent delete removed it.
  async function moveIn(from, to) {
    await fsp.mkdir(path.dirname(to), { recursive: true });
    try {
      await fsp.rename(from, to);
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
      await fsp.mkdir(path.dirname(to), { recursive: true });
      await fsp.rename(from, to);
    }
  }
  async function commit(store, bucket, key, objectTemp, md5, metadataJson) {
    const md5Temp = temp();
    const metadataTemp = temp();
    await fsp.writeFile(md5Temp, md5);
    await fsp.writeFile(metadataTemp, metadataJson);
    await moveIn(md5Temp, store.getResourcePath(bucket, key, 'object.md5'));
    await moveIn(metadataTemp, store.getResourcePath(bucket, key, 'metadata.json'));
    await moveIn(objectTemp, store.getResourcePath(bucket, key, 'object'));
  }
  const pickMetadata = (metadata) => {
    const json = {};
    for (const [k, v] of Object.entries(metadata || {})) {
      if (S3rverObject.ALLOWED_METADATA.includes(k) || k.startsWith('x-amz-meta-')) json[k] = v;
    }
    return JSON.stringify(json, null, 2);
  };
  const S3rverObject = require('s3rver/lib/models/object');
  // The body goes to the scratch file in writes of about 1 MiB (s3rver piped every socket chunk
  // through a hashing stream into a file stream: one write, callback and promise per 64 KiB).
  // A body that ends short of its Content-Length (the client or its connection died mid-PUT)
  // is an error, so it is never renamed in.
  // The ETag is a version tag (a hash of this write's serial, size and time), not the MD5 of the
  // body that S3 returns for a single PUT: hashing every body cost s3rver's one thread a third of
  // its time, and a client can only compare ETags for equality (sluice's If-Match on reads),
  // which a version tag serves as well: a new write, a new tag.
  Store.prototype.putObject = async function putObject(object) {
    const objectTemp = temp();
    const writeSerial = serial;
    let size = 0;
    const fh = await fsp.open(objectTemp, 'w');
    try {
      if (Buffer.isBuffer(object.content)) {
        size = object.content.length;
        await fh.writeFile(object.content);
      } else {
        let batch = [];
        let batchBytes = 0;
        for await (const chunk of object.content) {
          batch.push(chunk);
          batchBytes += chunk.length;
          size += chunk.length;
          if (batchBytes >= 1 << 20) {
            await fh.writev(batch);
            batch = [];
            batchBytes = 0;
          }
        }
        if (batch.length > 0) await fh.writev(batch);
      }
    } catch (e) {
      await fh.close();
      await fsp.rm(objectTemp, { force: true });
      throw e;
    }
    await fh.close();
    // (Only a request's body has a Content-Length of its own: a completed multipart upload's
    // parts come from files, with the metadata of the request that started it.)
    const declared = object.content instanceof http.IncomingMessage
                         ? object.content.headers['content-length'] : undefined;
    if (declared !== undefined && Number(declared) !== size) {
      await fsp.rm(objectTemp, { force: true });
      throw new Error('PUT body of ' + size + ' bytes, not the ' + declared + ' it declared');
    }
    const etag = crypto.createHash('md5')
                     .update(process.pid + ':' + writeSerial + ':' + size + ':' +
                             process.hrtime.bigint())
                     .digest('hex');
    await commit(this, object.bucket, object.key, objectTemp, etag,
                 pickMetadata(object.metadata));
    return { size, md5: etag };
  };
  // s3rver's getObject, reading the file in 1 MiB chunks instead of 64 KiB: a sixteenth of the
  // stream events and socket writes per byte served.
  Store.prototype.getObject = async function getObject(bucket, key, options) {
    try {
      const metadata = await this.getMetadata(bucket, key);
      const lastByte = Math.max(0, Number(metadata['content-length']) - 1);
      const range = {
        start: (options && options.start) || 0,
        end: Math.min((options && options.end) || Infinity, lastByte),
      };
      const ranged = options && (options.start !== undefined || options.end);
      if (range.start < 0 || Math.min(range.end, lastByte) < range.start) {
        const object = new S3rverObject(bucket, key, null, metadata);
        if (ranged) object.range = range;
        return object;
      }
      const content = await new Promise((resolve, reject) => {
        const stream = fs.createReadStream(this.getResourcePath(bucket, key, 'object'),
                                           Object.assign({ highWaterMark: 1 << 20 }, range))
                           .on('error', reject)
                           .on('open', () => resolve(stream));
      });
      const object = new S3rverObject(bucket, key, content, metadata);
      if (ranged) object.range = range;
      return object;
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw err;
    }
  };
  Store.prototype.copyObject = async function copyObject(srcBucket, srcKey, destBucket, destKey,
                                                         replacementMetadata) {
    const src = (r) => this.getResourcePath(srcBucket, srcKey, r);
    const objectTemp = temp();
    await fsp.copyFile(src('object'), objectTemp);
    const md5 = await fsp.readFile(src('object.md5'), 'utf8').catch(async () => {
      return crypto.createHash('md5').update(await fsp.readFile(objectTemp)).digest('hex');
    });
    const metadataJson = replacementMetadata
                             ? pickMetadata(replacementMetadata)
                             : await fsp.readFile(src('metadata.json'), 'utf8');
    await commit(this, destBucket, destKey, objectTemp, md5, metadataJson);
    return this.getMetadata(destBucket, destKey);
  };
}

// Serves the folder: every request's signature is checked first, then s3rver's Koa handler
// serves it in this process (as an anonymous request: s3rver knows only its own demo account).
async function main() {
  recover(opts.dir);
  makeWritesAtomic(opts.dir);
  const s3 = new S3rver({ directory: opts.dir, silent: true,
                          configureBuckets: opts.buckets.map((name) => ({ name })) });
  await s3.configureBuckets();
  // s3rver 3.7 ignores If-Match on reads; S3 answers 412 PreconditionFailed when the object's
  // ETag is another (sluice's ranged reads send it, to notice an object replaced mid-read).
  s3.middleware.unshift(async (ctx, next) => {
    await next();
    const want = ctx.get('If-Match');
    if (!want || want === '*' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return;
    if (ctx.status >= 300 || ctx.response.get('ETag') === want) return;
    if (ctx.body && typeof ctx.body.destroy === 'function') ctx.body.destroy();
    for (const h of ['ETag', 'Content-Range', 'Last-Modified', 'Accept-Ranges']) ctx.remove(h);
    ctx.status = 412;
    ctx.type = 'application/xml';
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
               '<Message>At least one of the pre-conditions you specified did not hold</Message>' +
               '<Condition>If-Match</Condition><RequestId>sluice-test</RequestId></Error>';
  });
  const serve = s3.callback();
  const server = http.createServer((req, res) => {
    const n = ++counter;
    const dies = opts.dieOn !== '' && (req.method + ' ' + req.url).includes(opts.dieOn) &&
                 ++dieMatches === opts.dieNth;
    // Every answer goes through writeHead (Node's implicit headers call it too): the log line is
    // written there, before the response leaves, and --die-on dies there, once s3rver has done
    // the work.
    const writeHead = res.writeHead;
    res.writeHead = function (status, ...rest) {
      if (dies) {
        if (logFd !== null) fs.writeSync(logFd, req.method + ' ' + req.url + ' died\n');
        process.kill(process.pid, 'SIGKILL');
      }
      if (logFd !== null) fs.writeSync(logFd, req.method + ' ' + req.url + ' ' + status + '\n');
      return writeHead.call(this, status, ...rest);
    };
    const refuse = verify(req);
    if (refuse) {
      req.resume();
      return refuse(res);
    }
    if (opts.slowdown > 0 && n % opts.slowdown === 0) {
      req.resume();
      return xmlError(res, 503, 'SlowDown', 'Please reduce your request rate.');
    }
    delete req.headers['authorization'];
    serve(req, res);
  });
  server.keepAliveTimeout = 30000;
  server.listen(opts.port, '127.0.0.1', () => {
    writeReady(server.address().port);
  });
}

function writeReady(port) {
  const tmp = opts.ready + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify({ endpoint: 'http://127.0.0.1:' + port, port,
                                         pid: process.pid }) + '\n');
  fs.renameSync(tmp, opts.ready);
}

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
main().catch((e) => { console.error('s3 test server: ' + (e && e.stack || e)); process.exit(1); });
