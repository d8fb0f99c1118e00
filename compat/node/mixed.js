#!/usr/bin/env node
// A mixed workload with node-redis (the `redis` package) against a server
// speaking the Redis protocol: memimgd, or redis-server for reference.
//
//   node mixed.js 127.0.0.1:6380        # or MEMIMG_ADDR=127.0.0.1:6380 node mixed.js
//
// It runs strings, hashes, lists, sets, sorted sets, MULTI/EXEC, WATCH,
// pub/sub (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE), pipelines, error replies, raw
// reply types, connection options (name, database) and the SCAN iterators
// once over RESP2 and once over RESP3, then a bounded concurrent part
// (parallel clients doing INCRs, and WATCH/MULTI compare-and-set loops).
// Every reply is checked against what Redis answers: the first mismatch
// prints the command, what came back and what was expected, and the script
// exits with code 1 (2 for a bad command line). The whole run is bounded by a global timeout
// (MIXED_TIMEOUT_MS, 60 s by default). Keys are prefixed "nodemixed:"; the
// script deletes its own keys before using them and touches no other.
'use strict';

const assert = require('node:assert/strict');
const { createClient, ErrorReply, WatchError, MultiErrorReply } = require('redis');

const TIMEOUT_MS = Number(process.env.MIXED_TIMEOUT_MS || 60000);
const PREFIX = 'nodemixed:';

// ---- harness -------------------------------------------------------------

let step = '(start)'; // what is being checked, for failure messages
const clients = [];

function fail(msg) {
  process.stderr.write(`FAIL [${step}]: ${msg}\n`);
  for (const c of clients) {
    try { c.destroy(); } catch (_) { /* already closed */ }
  }
  process.exit(1);
}

function show(v) {
  if (Buffer.isBuffer(v)) return `Buffer(${v.toString('hex')})`;
  if (v instanceof Error) return `${v.constructor.name}(${JSON.stringify(v.message)})`;
  if (v instanceof Map) return `Map(${show([...v.entries()])})`;
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}

// plain turns the null-prototype objects node-redis makes of maps (HGETALL,
// RESP3 maps) into ordinary ones, for deepStrictEqual.
function plain(v) {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

// eq checks deep equality of a reply with what Redis answers.
function eq(actual, expected, what) {
  try {
    assert.deepStrictEqual(plain(actual), expected);
  } catch (_) {
    fail(`${what}: got ${show(actual)}, want ${show(expected)}`);
  }
}

function ok(cond, what) {
  if (!cond) fail(what);
}

// errorReply awaits p, which must fail with a server error reply whose text
// is exactly want.
async function errorReply(p, want, what) {
  let reply;
  try {
    reply = await p;
  } catch (err) {
    if (!(err instanceof ErrorReply)) fail(`${what}: want error reply ${show(want)}, got ${show(err)}`);
    eq(err.message, want, what);
    return;
  }
  fail(`${what}: want error reply ${show(want)}, got reply ${show(reply)}`);
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// within resolves with p's value, or fails the script after ms.
function within(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

function parseAddr() {
  const addr = process.argv[2] || process.env.MEMIMG_ADDR || process.env.REDIS_ADDR;
  if (!addr) {
    process.stderr.write('usage: node mixed.js HOST:PORT (or MEMIMG_ADDR=HOST:PORT)\n');
    process.exit(2);
  }
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(addr.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write(`bad address ${JSON.stringify(addr)}: want HOST:PORT\n`);
    process.exit(2);
  }
  return { host, port };
}

const ADDR = parseAddr();

async function connect(resp, extra = {}) {
  const c = createClient({
    RESP: resp,
    socket: { host: ADDR.host, port: ADDR.port, connectTimeout: 5000, reconnectStrategy: false },
    ...extra,
  });
  c.on('error', err => fail(`client error (RESP${resp}): ${err && err.stack ? err.stack : err}`));
  c.mixedResp = resp;
  clients.push(c);
  await c.connect();
  return c;
}

function close(c) {
  c.destroy();
  const i = clients.indexOf(c);
  if (i >= 0) clients.splice(i, 1);
}

// ---- the workload, once per protocol version -------------------------------

async function strings(c, k) {
  step = `RESP${c.mixedResp} strings`;
  await c.del([k('s'), k('n'), k('short')]);
  eq(await c.set(k('s'), 'hello', { EX: 100 }), 'OK', 'SET s hello EX 100');
  eq(await c.get(k('s')), 'hello', 'GET s');
  const ttl = await c.ttl(k('s'));
  ok(ttl > 90 && ttl <= 100, `TTL s: got ${ttl}, want 91..100`);
  eq(await c.set(k('s'), 'other', { NX: true }), null, 'SET s other NX on an existing key');
  eq(await c.set(k('s'), 'world', { GET: true }), 'hello', 'SET s world GET');
  eq(await c.ttl(k('s')), -1, 'TTL s after a SET without KEEPTTL');
  eq(await c.append(k('s'), '!'), 6, 'APPEND s !');
  eq(await c.strLen(k('s')), 6, 'STRLEN s');
  eq(await c.incr(k('n')), 1, 'INCR on a missing key');
  eq(await c.incrBy(k('n'), 41), 42, 'INCRBY n 41');
  eq(await c.decr(k('n')), 41, 'DECR n');
  eq(await c.expire(k('n'), 100), 1, 'EXPIRE n 100');
  eq(await c.incr(k('n')), 42, 'INCR keeps the key');
  const pttl = await c.pTTL(k('n'));
  ok(pttl > 90000 && pttl <= 100000, `PTTL n after INCR (INCR keeps the TTL): got ${pttl}, want 90001..100000`);
  // In one transaction, so that a slow machine cannot let the key expire
  // before it is looked at.
  const [setReply, exists, pttlShort] = await c.multi().set(k('short'), 'v', { PX: 100 }).exists(k('short')).pTTL(k('short')).exec();
  eq([setReply, exists], ['OK', 1], 'MULTI SET short v PX 100, EXISTS short');
  ok(pttlShort > 0 && pttlShort <= 100, `PTTL short right after SET PX 100: got ${pttlShort}, want 1..100`);
  await sleep(250);
  eq(await c.get(k('short')), null, 'GET short 250 ms after PX 100');
  eq(await c.exists(k('short')), 0, 'EXISTS short after it expired');
  eq(await c.mGet([k('s'), k('n'), k('short')]), ['world!', '42', null], 'MGET s n short');
}

async function hashes(c, k) {
  step = `RESP${c.mixedResp} hashes`;
  await c.del(k('h'));
  eq(await c.hSet(k('h'), { f1: 'v1', f2: 'v2' }), 2, 'HSET h f1 v1 f2 v2');
  eq(await c.hSet(k('h'), { f2: 'x', f3: 'y' }), 1, 'HSET h f2 x f3 y (one new field)');
  eq(await c.hGetAll(k('h')), { f1: 'v1', f2: 'x', f3: 'y' }, 'HGETALL h');
  eq(await c.hGet(k('h'), 'f2'), 'x', 'HGET h f2');
  eq(await c.hGet(k('h'), 'nope'), null, 'HGET h nope');
  eq(await c.hmGet(k('h'), ['f1', 'nope', 'f3']), ['v1', null, 'y'], 'HMGET h f1 nope f3');
  eq(await c.hIncrBy(k('h'), 'n', 5), 5, 'HINCRBY h n 5');
  eq(await c.hIncrBy(k('h'), 'n', -7), -2, 'HINCRBY h n -7');
  await errorReply(c.hIncrBy(k('h'), 'f1', 1), 'ERR hash value is not an integer', 'HINCRBY h f1 1 (not an integer)');
  eq(await c.hDel(k('h'), ['f1', 'nope']), 1, 'HDEL h f1 nope');
  eq(await c.hLen(k('h')), 3, 'HLEN h');
  eq(await c.hExists(k('h'), 'f1'), 0, 'HEXISTS h f1 after HDEL');
  eq((await c.hKeys(k('h'))).sort(), ['f2', 'f3', 'n'], 'HKEYS h (sorted)');
  eq(await c.hGetAll(k('h')), { f2: 'x', f3: 'y', n: '-2' }, 'HGETALL h after HDEL');
  eq(await c.hDel(k('h'), ['f2', 'f3', 'n']), 3, 'HDEL of every field');
  eq(await c.exists(k('h')), 0, 'EXISTS h once its last field is deleted');
  eq(await c.hGetAll(k('h')), {}, 'HGETALL of a missing key');
}

async function lists(c, k) {
  step = `RESP${c.mixedResp} lists`;
  await c.del([k('l'), k('l2')]);
  eq(await c.rPush(k('l'), ['a', 'b', 'c', 'd', 'e']), 5, 'RPUSH l a b c d e');
  eq(await c.lPush(k('l'), 'z'), 6, 'LPUSH l z');
  eq(await c.lRange(k('l'), 0, -1), ['z', 'a', 'b', 'c', 'd', 'e'], 'LRANGE l 0 -1');
  eq(await c.lRange(k('l'), -2, 100), ['d', 'e'], 'LRANGE l -2 100');
  eq(await c.lPop(k('l')), 'z', 'LPOP l');
  eq(await c.lPopCount(k('l'), 2), ['a', 'b'], 'LPOP l 2');
  eq(await c.lPopCount(k('nolist'), 2), null, 'LPOP nolist 2 (missing key)');
  eq(await c.lMove(k('l'), k('l2'), 'RIGHT', 'LEFT'), 'e', 'LMOVE l l2 RIGHT LEFT');
  eq(await c.lMove(k('l'), k('l2'), 'LEFT', 'RIGHT'), 'c', 'LMOVE l l2 LEFT RIGHT');
  eq(await c.lRange(k('l'), 0, -1), ['d'], 'LRANGE l after the moves');
  eq(await c.lRange(k('l2'), 0, -1), ['e', 'c'], 'LRANGE l2 after the moves');
  eq(await c.lIndex(k('l2'), -1), 'c', 'LINDEX l2 -1');
  eq(await c.lLen(k('l2')), 2, 'LLEN l2');
  eq(await c.rPop(k('l')), 'd', 'RPOP l (last element)');
  eq(await c.exists(k('l')), 0, 'EXISTS l once emptied');
  eq(await c.lMove(k('l'), k('l2'), 'LEFT', 'LEFT'), null, 'LMOVE from a missing list');
}

async function sets(c, k) {
  step = `RESP${c.mixedResp} sets`;
  await c.del([k('set1'), k('set2'), k('set3')]);
  eq(await c.sAdd(k('set1'), ['a', 'b', 'c', 'a']), 3, 'SADD set1 a b c a');
  eq(await c.sAdd(k('set2'), ['b', 'c', 'd']), 3, 'SADD set2 b c d');
  eq(await c.sIsMember(k('set1'), 'a'), 1, 'SISMEMBER set1 a');
  eq(await c.sIsMember(k('set1'), 'd'), 0, 'SISMEMBER set1 d');
  eq(await c.smIsMember(k('set1'), ['a', 'd']), [1, 0], 'SMISMEMBER set1 a d');
  eq(await c.sCard(k('set1')), 3, 'SCARD set1');
  // Set order is unspecified: compare sorted.
  eq((await c.sMembers(k('set1'))).sort(), ['a', 'b', 'c'], 'SMEMBERS set1 (sorted)');
  eq((await c.sInter([k('set1'), k('set2')])).sort(), ['b', 'c'], 'SINTER set1 set2 (sorted)');
  eq((await c.sUnion([k('set1'), k('set2')])).sort(), ['a', 'b', 'c', 'd'], 'SUNION set1 set2 (sorted)');
  eq((await c.sDiff([k('set1'), k('set2')])).sort(), ['a'], 'SDIFF set1 set2');
  eq(await c.sInterStore(k('set3'), [k('set1'), k('set2')]), 2, 'SINTERSTORE set3 set1 set2');
  eq(await c.sRem(k('set1'), ['a', 'zz']), 1, 'SREM set1 a zz');
  eq(await c.sMove(k('set1'), k('set2'), 'b'), 1, 'SMOVE set1 set2 b (already in set2)');
  eq((await c.sMembers(k('set1'))).sort(), ['c'], 'SMEMBERS set1 after SREM and SMOVE');
  eq((await c.sMembers(k('set3'))).sort(), ['b', 'c'], 'SMEMBERS set3');
}

async function sortedSets(c, k) {
  step = `RESP${c.mixedResp} sorted sets`;
  await c.del([k('z')]);
  eq(await c.zAdd(k('z'), [{ score: 1, value: 'a' }, { score: 2, value: 'b' }, { score: 3, value: 'c' }]), 3, 'ZADD z 1 a 2 b 3 c');
  eq(await c.zAdd(k('z'), { score: 2, value: 'b' }), 0, 'ZADD z 2 b (unchanged)');
  eq(await c.zRangeWithScores(k('z'), 0, -1),
    [{ value: 'a', score: 1 }, { value: 'b', score: 2 }, { value: 'c', score: 3 }], 'ZRANGE z 0 -1 WITHSCORES');
  eq(await c.zIncrBy(k('z'), 2.5, 'a'), 3.5, 'ZINCRBY z 2.5 a');
  eq(await c.zIncrBy(k('z'), 1, 'new'), 1, 'ZINCRBY z 1 new (new member)');
  eq(await c.zRange(k('z'), 0, -1), ['new', 'b', 'c', 'a'], 'ZRANGE z 0 -1 after ZINCRBY');
  eq(await c.zRangeWithScores(k('z'), 0, -1, { REV: true }),
    [{ value: 'a', score: 3.5 }, { value: 'c', score: 3 }, { value: 'b', score: 2 }, { value: 'new', score: 1 }],
    'ZRANGE z 0 -1 REV WITHSCORES');
  eq(await c.zRange(k('z'), 2, '+inf', { BY: 'SCORE', LIMIT: { offset: 1, count: 2 } }), ['c', 'a'], 'ZRANGE z 2 +inf BYSCORE LIMIT 1 2');
  eq(await c.zScore(k('z'), 'a'), 3.5, 'ZSCORE z a');
  eq(await c.zScore(k('z'), 'nope'), null, 'ZSCORE z nope');
  eq(await c.zRank(k('z'), 'c'), 2, 'ZRANK z c');
  eq(await c.zCard(k('z')), 4, 'ZCARD z');
  eq(await c.zCount(k('z'), 2, 3), 2, 'ZCOUNT z 2 3');
  eq(await c.zRem(k('z'), ['new', 'nope']), 1, 'ZREM z new nope');
  eq(await c.zPopMin(k('z')), { value: 'b', score: 2 }, 'ZPOPMIN z');
  await errorReply(c.sendCommand(['ZINCRBY', k('z'), 'x', 'a']), 'ERR value is not a valid float', 'ZINCRBY z x a');
}

async function transactions(c, k) {
  step = `RESP${c.mixedResp} MULTI/EXEC`;
  await c.del([k('t'), k('tn'), k('th'), k('tl'), k('w')]);
  const replies = await c.multi()
    .set(k('t'), 'v')
    .incr(k('tn'))
    .incrBy(k('tn'), 9)
    .hSet(k('th'), 'f', 'v')
    .rPush(k('tl'), ['x', 'y'])
    .lRange(k('tl'), 0, -1)
    .get(k('t'))
    .exec();
  eq(replies, ['OK', 1, 10, 1, 2, ['x', 'y'], 'v'], 'MULTI SET INCR INCRBY HSET RPUSH LRANGE GET EXEC');

  // An error while running (WRONGTYPE) is replied in place; the other
  // commands run.
  try {
    const r = await c.multi().incr(k('tn')).lPush(k('t'), 'x').incr(k('tn')).exec();
    fail(`MULTI with a WRONGTYPE command: want a MultiErrorReply, got ${show(r)}`);
  } catch (err) {
    if (!(err instanceof MultiErrorReply)) fail(`MULTI with a WRONGTYPE command: want MultiErrorReply, got ${show(err)}`);
    eq(err.errorIndexes, [1], 'MULTI with a WRONGTYPE command: error indexes');
    eq(err.replies[0], 11, 'MULTI INCR before the error');
    eq(err.replies[2], 12, 'MULTI INCR after the error');
    ok(err.replies[1] instanceof ErrorReply, `MULTI LPUSH on a string: got ${show(err.replies[1])}, want an error reply`);
    eq(err.replies[1].message, 'WRONGTYPE Operation against a key holding the wrong kind of value', 'MULTI LPUSH on a string');
  }

  // An error while queuing (wrong arity) aborts the whole transaction.
  // node-redis rejects with the first error (the queuing one).
  await errorReply(c.multi().incr(k('tn')).addCommand(['GET']).exec(),
    "ERR wrong number of arguments for 'get' command", 'MULTI with a wrong-arity command');
  eq(await c.get(k('tn')), '12', 'GET tn after the aborted transaction (nothing ran)');
  // The same by hand, to see EXEC's own reply.
  eq(await c.sendCommand(['MULTI']), 'OK', 'MULTI (raw)');
  eq(await c.sendCommand(['INCR', k('tn')]), 'QUEUED', 'INCR tn inside MULTI (raw)');
  await errorReply(c.sendCommand(['GET']), "ERR wrong number of arguments for 'get' command", 'GET with no key inside MULTI (raw)');
  await errorReply(c.sendCommand(['EXEC']), 'EXECABORT Transaction discarded because of previous errors.', 'EXEC after a queuing error (raw)');
  await errorReply(c.sendCommand(['EXEC']), 'ERR EXEC without MULTI', 'EXEC without MULTI');
  eq(await c.sendCommand(['MULTI']), 'OK', 'MULTI (raw, to discard)');
  eq(await c.sendCommand(['SET', k('tn'), 'discarded']), 'QUEUED', 'SET inside MULTI (raw)');
  eq(await c.sendCommand(['DISCARD']), 'OK', 'DISCARD');
  eq(await c.get(k('tn')), '12', 'GET tn after EXECABORT and DISCARD (nothing ran)');

  step = `RESP${c.mixedResp} WATCH`;
  // WATCH with no write in between: EXEC runs.
  await c.set(k('w'), '1');
  eq(await c.watch(k('w')), 'OK', 'WATCH w');
  eq(await c.multi().incr(k('w')).exec(), [2], 'EXEC after WATCH with no other write');
  // Another client writes the watched key: EXEC aborts (a null reply,
  // which node-redis turns into a WatchError) and nothing runs.
  const other = await connect(c.mixedResp);
  eq(await c.watch(k('w')), 'OK', 'WATCH w (again)');
  eq(await c.get(k('w')), '2', 'GET w after WATCH');
  eq(await other.set(k('w'), '100'), 'OK', 'SET w 100 from another client');
  try {
    const r = await c.multi().incr(k('w')).set(k('t'), 'changed').exec();
    fail(`EXEC after another client wrote a watched key: want an aborted transaction, got ${show(r)}`);
  } catch (err) {
    if (!(err instanceof WatchError)) fail(`EXEC after another client wrote a watched key: want WatchError, got ${show(err)}`);
  }
  eq(await c.get(k('w')), '100', 'GET w after the aborted transaction');
  eq(await c.get(k('t')), 'v', 'GET t after the aborted transaction');
  // The abort cleared the WATCH: the next transaction runs.
  eq(await c.multi().incr(k('w')).exec(), [101], 'EXEC after an aborted one');
  // UNWATCH forgets the watched keys.
  eq(await c.watch(k('w')), 'OK', 'WATCH w (third)');
  eq(await other.set(k('w'), '7'), 'OK', 'SET w 7 from another client');
  eq(await c.unwatch(), 'OK', 'UNWATCH');
  eq(await c.multi().incr(k('w')).exec(), [8], 'EXEC after UNWATCH');
  close(other);
}

async function pubsub(c, k) {
  step = `RESP${c.mixedResp} pub/sub`;
  const sub = await connect(c.mixedResp);
  const ch = k('chan');
  const got = [];
  let notify = () => {};
  const record = kind => (message, channel, pattern) => {
    got.push({ kind, channel, message });
    notify();
  };
  // waitFor resolves once n messages have arrived in all.
  const waitFor = n => within(new Promise(resolve => {
    notify = () => { if (got.length >= n) resolve(); };
    notify();
  }), 5000, `waiting for ${n} pub/sub message(s), have ${show(got)}`);

  await sub.subscribe(ch, record('message'));
  eq(await c.publish(ch, 'hello'), 1, `PUBLISH ${ch} hello (one subscriber)`);
  await waitFor(1);
  eq(got, [{ kind: 'message', channel: ch, message: 'hello' }], 'message received by SUBSCRIBE');

  // A subscribed connection: over RESP2 only the pub/sub commands, PING,
  // QUIT and RESET; over RESP3 anything.
  eq(await sub.sendCommand(['PING', 'x']), 'x', 'PING x on a subscribed connection');
  await c.del(k('subget'));
  if (c.mixedResp === 3) {
    eq(await sub.sendCommand(['GET', k('subget')]), null, 'GET on a subscribed RESP3 connection');
  } else {
    await errorReply(sub.sendCommand(['GET', k('subget')]),
      "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
      'GET on a subscribed RESP2 connection');
  }

  await sub.pSubscribe(k('news.*'), record('pmessage'));
  eq(await c.publish(k('news.sport'), 'goal'), 1, 'PUBLISH news.sport goal (one pattern subscriber)');
  eq(await c.publish(k('other'), 'nobody'), 0, 'PUBLISH other (no subscriber)');
  eq(await c.publish(ch, 'again'), 1, `PUBLISH ${ch} again`);
  await waitFor(3);
  eq(got.slice(1), [
    { kind: 'pmessage', channel: k('news.sport'), message: 'goal' },
    { kind: 'message', channel: ch, message: 'again' },
  ], 'messages received by PSUBSCRIBE and SUBSCRIBE, in publishing order');

  eq(await c.pubSubNumSub([ch, k('none')]), { [ch]: 1, [k('none')]: 0 }, 'PUBSUB NUMSUB');
  eq(await c.pubSubNumPat(), 1, 'PUBSUB NUMPAT');
  eq((await c.pubSubChannels(k('*'))), [ch], 'PUBSUB CHANNELS prefix*');

  // Shard channels (SSUBSCRIBE/SPUBLISH) are a namespace of their own.
  await sub.sSubscribe(k('shard'), record('smessage'));
  eq(await c.publish(k('shard'), 'plain'), 0, 'PUBLISH to a channel that only has a shard subscriber');
  eq(await c.sPublish(k('shard'), 's1'), 1, 'SPUBLISH shard s1');
  await waitFor(4);
  eq(got[3], { kind: 'smessage', channel: k('shard'), message: 's1' }, 'message received by SSUBSCRIBE');
  eq(await c.sendCommand(['PUBSUB', 'SHARDNUMSUB', k('shard'), ch]), [k('shard'), 1, ch, 0], 'PUBSUB SHARDNUMSUB (raw; a flat array in RESP3 too)');
  await sub.sUnsubscribe(k('shard'));
  eq(await c.sPublish(k('shard'), 'late'), 0, 'SPUBLISH after SUNSUBSCRIBE');

  await sub.unsubscribe(ch);
  await sub.pUnsubscribe(k('news.*'));
  eq(await c.publish(ch, 'late'), 0, 'PUBLISH after UNSUBSCRIBE');
  eq(await c.publish(k('news.x'), 'late'), 0, 'PUBLISH after PUNSUBSCRIBE');
  // The connection is usable for ordinary commands again.
  // (node-redis hands this reply back as a Buffer over RESP2 after pub/sub
  // mode, from redis-server too: compare as text.)
  eq(String(await sub.ping()), 'PONG', 'PING after unsubscribing from everything');
  await sleep(50);
  eq(got.length, 4, 'no message after unsubscribing');
  close(sub);
}

async function pipelines(c, k) {
  step = `RESP${c.mixedResp} pipelines`;
  await c.del([k('p'), k('pl')]);
  const replies = await c.multi()
    .set(k('p'), '1')
    .incr(k('p'))
    .rPush(k('pl'), ['a', 'b'])
    .lRange(k('pl'), 0, -1)
    .get(k('p'))
    .execAsPipeline();
  eq(replies, ['OK', 2, 2, ['a', 'b'], '2'], 'pipeline SET INCR RPUSH LRANGE GET');
  // A pipeline (commands written together) with an error in the middle:
  // the error is replied in place, the commands after it run.
  const settled = await Promise.allSettled([
    c.incr(k('p')),
    c.lPush(k('p'), 'x'),
    c.incr(k('p')),
    c.rPop(k('pl')),
  ]);
  eq(settled.map(r => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'], 'pipeline with a WRONGTYPE command: outcomes');
  eq([settled[0].value, settled[2].value, settled[3].value], [3, 4, 'b'], 'pipeline replies around the error');
  eq(settled[1].reason.message, 'WRONGTYPE Operation against a key holding the wrong kind of value', 'pipeline LPUSH on a string');

  // Auto-pipelining: commands issued in the same tick share one write.
  const n = 200;
  const keys = Array.from({ length: n }, (_, i) => k(`ap${i}`));
  const sets = await Promise.all(keys.map((key, i) => c.set(key, `v${i}`)));
  eq(sets, Array(n).fill('OK'), `${n} SETs in one tick`);
  const gets = await Promise.all(keys.map(key => c.get(key)));
  eq(gets, keys.map((_, i) => `v${i}`), `${n} GETs in one tick`);
  eq(await c.mGet(keys), gets, 'MGET of the pipelined keys');
  eq(await c.del(keys), n, 'DEL of the pipelined keys');
}

async function errors(c, k) {
  step = `RESP${c.mixedResp} error replies`;
  await c.del([k('str'), k('lst')]);
  await c.set(k('str'), 'abc');
  await c.rPush(k('lst'), 'x');
  const wrongtype = 'WRONGTYPE Operation against a key holding the wrong kind of value';
  await errorReply(c.lPush(k('str'), 'x'), wrongtype, 'LPUSH on a string');
  await errorReply(c.hGetAll(k('str')), wrongtype, 'HGETALL on a string');
  await errorReply(c.sAdd(k('lst'), 'x'), wrongtype, 'SADD on a list');
  await errorReply(c.zAdd(k('lst'), { score: 1, value: 'x' }), wrongtype, 'ZADD on a list');
  await errorReply(c.get(k('lst')), wrongtype, 'GET on a list');
  await errorReply(c.incr(k('str')), 'ERR value is not an integer or out of range', 'INCR on a non-integer');
  await errorReply(c.sendCommand(['GET']), "ERR wrong number of arguments for 'get' command", 'GET with no key');
  await errorReply(c.sendCommand(['NOSUCHCMD', 'a']),
    "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' ", 'an unknown command');
  await errorReply(c.sendCommand(['SET', k('str'), 'v', 'EX', '0']),
    "ERR invalid expire time in 'set' command", 'SET EX 0');
  await errorReply(c.sendCommand(['LPOP', k('lst'), '-1']),
    'ERR value is out of range, must be positive', 'LPOP with a negative count');
  // The connection goes on after errors.
  eq(await c.get(k('str')), 'abc', 'GET after error replies');
}

async function protocol(c) {
  step = `RESP${c.mixedResp} protocol`;
  eq(await c.ping(), 'PONG', 'PING');
  eq(await c.echo('héllo\r\nworld'), 'héllo\r\nworld', 'ECHO of a non-ASCII value with CRLF');
  const hello = await c.hello();
  eq(hello.proto, c.mixedResp, `HELLO reports protocol ${c.mixedResp}`);
  eq(hello.server, 'redis', 'HELLO server');
  eq(typeof hello.id, 'number', 'HELLO id is a number');
  eq(await c.clientGetName(), null, 'CLIENT GETNAME without a name');
}

async function binary(c, k) {
  step = `RESP${c.mixedResp} binary values`;
  const bytes = Buffer.from([0, 255, 13, 10, 128, 36, 42]);
  await c.set(k('bin'), bytes);
  const back = await c.withTypeMapping({ [require('redis').RESP_TYPES.BLOB_STRING]: Buffer }).get(k('bin'));
  ok(Buffer.isBuffer(back) && back.equals(bytes), `GET of a binary value: got ${show(back)}, want ${bytes.toString('hex')}`);
  const big = 'x'.repeat(1 << 20);
  eq(await c.set(k('big'), big), 'OK', 'SET of 1 MiB');
  eq((await c.get(k('big'))).length, big.length, 'GET of 1 MiB (length)');
  eq(await c.del([k('bin'), k('big')]), 2, 'DEL bin big');
}

// rawReplies checks the reply types themselves (sendCommand, no transform):
// RESP2 flat arrays and bulk strings, RESP3 maps, doubles and pairs.
async function rawReplies(c, k) {
  step = `RESP${c.mixedResp} raw reply types`;
  const r3 = c.mixedResp === 3;
  await c.del([k('rz'), k('rh')]);
  await c.zAdd(k('rz'), [{ score: 1, value: 'a' }, { score: 2.5, value: 'b' }, { score: 4, value: 'c' }]);
  await c.hSet(k('rh'), { f: 'v', g: 'w' });
  eq(await c.sendCommand(['ZRANGE', k('rz'), '0', '1', 'WITHSCORES']),
    r3 ? [['a', 1], ['b', 2.5]] : ['a', '1', 'b', '2.5'], 'ZRANGE rz 0 1 WITHSCORES (raw)');
  eq(await c.sendCommand(['ZSCORE', k('rz'), 'b']), r3 ? 2.5 : '2.5', 'ZSCORE rz b (raw)');
  eq(await c.sendCommand(['ZINCRBY', k('rz'), '0.25', 'b']), r3 ? 2.75 : '2.75', 'ZINCRBY rz 0.25 b (raw)');
  eq(await c.sendCommand(['ZMSCORE', k('rz'), 'a', 'nope']), r3 ? [1, null] : ['1', null], 'ZMSCORE rz a nope (raw)');
  eq(await c.sendCommand(['ZPOPMIN', k('rz')]), r3 ? ['a', 1] : ['a', '1'], 'ZPOPMIN rz (raw)');
  eq(await c.sendCommand(['ZPOPMAX', k('rz'), '2']),
    r3 ? [['c', 4], ['b', 2.75]] : ['c', '4', 'b', '2.75'], 'ZPOPMAX rz 2 (raw)');
  eq(await c.sendCommand(['ZRANK', k('rz'), 'nope']), null, 'ZRANK of a missing member (raw)');
  const h = await c.sendCommand(['HGETALL', k('rh')]);
  if (r3) {
    eq(h, { f: 'v', g: 'w' }, 'HGETALL rh (raw, a RESP3 map)');
  } else {
    ok(Array.isArray(h) && h.length === 4, `HGETALL rh (raw): got ${show(h)}, want a flat array of 4`);
    const o = {};
    for (let i = 0; i < h.length; i += 2) o[h[i]] = h[i + 1];
    eq(o, { f: 'v', g: 'w' }, 'HGETALL rh (raw, RESP2 pairs)');
  }
  eq(await c.sendCommand(['CONFIG', 'GET', 'databases']),
    r3 ? { databases: '16' } : ['databases', '16'], 'CONFIG GET databases (raw)');
  eq(await c.sendCommand(['EXISTS', k('rh'), k('nope')]), 1, 'EXISTS (raw integer)');
  eq(await c.sendCommand(['GET', k('nope')]), null, 'GET of a missing key (raw null)');
  eq(await c.sendCommand(['LPOS', k('nope'), 'x']), null, 'LPOS on a missing key (raw null)');
  eq(await c.sendCommand(['ZRANGE', k('nope'), '0', '-1']), [], 'ZRANGE of a missing key (raw empty array)');
  eq(await c.del([k('rz'), k('rh')]), 1, 'DEL rz rh (rz was emptied)');
}

// options checks the connection options node-redis sends at connect time:
// a client name (HELLO SETNAME, or CLIENT SETNAME over RESP2) and a
// database (SELECT).
async function options(c, k) {
  step = `RESP${c.mixedResp} connection options`;
  const named = await connect(c.mixedResp, { name: `mixed-${c.mixedResp}`, database: 3 });
  eq(await named.clientGetName(), `mixed-${c.mixedResp}`, 'CLIENT GETNAME of a client created with a name');
  await named.del(k('db'));
  await c.del(k('db'));
  eq(await named.set(k('db'), 'three'), 'OK', 'SET db three in database 3');
  eq(await c.get(k('db')), null, 'GET db in database 0 (set in database 3)');
  eq(await named.get(k('db')), 'three', 'GET db in database 3');
  eq(await named.sendCommand(['SELECT', '0']), 'OK', 'SELECT 0');
  eq(await named.get(k('db')), null, 'GET db after SELECT 0');
  eq(await named.sendCommand(['SELECT', '3']), 'OK', 'SELECT 3');
  eq(await named.del(k('db')), 1, 'DEL db in database 3');
  await errorReply(named.sendCommand(['SELECT', '16']), 'ERR DB index is out of range', 'SELECT 16');
  close(named);
}

// scans checks node-redis's SCAN, HSCAN, SSCAN and ZSCAN iterators: every
// element exactly once (order aside).
async function scans(c, k) {
  step = `RESP${c.mixedResp} SCAN iterators`;
  const n = 150;
  const keys = Array.from({ length: n }, (_, i) => k(`scan:${String(i).padStart(3, '0')}`));
  await c.del(keys);
  await Promise.all(keys.map(key => c.set(key, 'v')));
  const seen = [];
  for await (const batch of c.scanIterator({ MATCH: k('scan:*'), COUNT: 20 })) seen.push(...batch);
  eq([...new Set(seen)].sort(), keys, `SCAN MATCH scan:* COUNT 20 over ${n} keys`);
  ok(seen.length >= n, `SCAN returned ${seen.length} keys, want at least ${n}`);
  await c.del(keys);

  await c.del([k('sh'), k('ss'), k('sz')]);
  const fields = {};
  for (let i = 0; i < n; i++) fields[`f${i}`] = `v${i}`;
  await c.hSet(k('sh'), fields);
  await c.sAdd(k('ss'), Object.keys(fields));
  await c.zAdd(k('sz'), Object.keys(fields).map((f, i) => ({ score: i, value: f })));
  const h = {};
  for await (const batch of c.hScanIterator(k('sh'), { COUNT: 30 })) for (const { field, value } of batch) h[field] = value;
  eq(h, fields, `HSCAN over ${n} fields`);
  const sm = new Set();
  for await (const batch of c.sScanIterator(k('ss'), { COUNT: 30 })) batch.forEach(m => sm.add(m));
  eq([...sm].sort(), Object.keys(fields).sort(), `SSCAN over ${n} members`);
  const zm = {};
  for await (const batch of c.zScanIterator(k('sz'), { COUNT: 30 })) for (const { value, score } of batch) zm[value] = score;
  eq(zm, Object.fromEntries(Object.keys(fields).map((f, i) => [f, i])), `ZSCAN over ${n} members`);
  eq(await c.del([k('sh'), k('ss'), k('sz')]), 3, 'DEL sh ss sz');
}

async function workload(resp) {
  const c = await connect(resp);
  const k = name => `${PREFIX}${resp}:${name}`;
  await protocol(c);
  await strings(c, k);
  await hashes(c, k);
  await lists(c, k);
  await sets(c, k);
  await sortedSets(c, k);
  await transactions(c, k);
  await pubsub(c, k);
  await pipelines(c, k);
  await errors(c, k);
  await binary(c, k);
  await rawReplies(c, k);
  await options(c, k);
  await scans(c, k);
  close(c);
}

// ---- the concurrent part ---------------------------------------------------

async function concurrent() {
  const CLIENTS = 20;
  const INCRS = 500;
  step = `concurrent INCR (${CLIENTS} clients x ${INCRS})`;
  const key = `${PREFIX}counter`;
  const cs = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => connect(i % 2 ? 3 : 2)));
  await cs[0].del(key);
  const seen = await Promise.all(cs.map(async c => {
    const mine = [];
    for (let i = 0; i < INCRS; i++) mine.push(await c.incr(key));
    return mine;
  }));
  for (const [i, mine] of seen.entries()) {
    for (let j = 1; j < mine.length; j++) {
      if (mine[j] <= mine[j - 1]) fail(`client ${i}: INCR replies not increasing: ${mine[j - 1]} then ${mine[j]}`);
    }
  }
  const all = seen.flat().sort((a, b) => a - b);
  const total = CLIENTS * INCRS;
  for (let i = 0; i < total; i++) {
    if (all[i] !== i + 1) fail(`the ${total} INCR replies are not 1..${total}: position ${i} is ${all[i]}`);
  }
  eq(await cs[0].get(key), String(total), 'final counter');

  // Optimistic locking: each client adds 1 to a counter with
  // WATCH/GET/MULTI/SET/EXEC, retrying on abort, a bounded number of times.
  const CAS_CLIENTS = 8;
  const CAS_ROUNDS = 25;
  const MAX_TRIES = 2000;
  step = `concurrent WATCH/MULTI (${CAS_CLIENTS} clients x ${CAS_ROUNDS})`;
  const cas = `${PREFIX}cas`;
  await cs[0].set(cas, '0');
  let aborts = 0;
  await Promise.all(cs.slice(0, CAS_CLIENTS).map(async (c, i) => {
    let tries = 0;
    for (let r = 0; r < CAS_ROUNDS; r++) {
      for (;;) {
        if (++tries > MAX_TRIES) fail(`client ${i}: more than ${MAX_TRIES} WATCH tries for ${CAS_ROUNDS} increments`);
        await c.watch(cas);
        const v = Number(await c.get(cas));
        try {
          const res = await c.multi().set(cas, String(v + 1)).exec();
          eq(res, ['OK'], 'EXEC of the compare-and-set');
          break;
        } catch (err) {
          if (!(err instanceof WatchError)) throw err;
          aborts++;
        }
      }
    }
  }));
  eq(await cs[0].get(cas), String(CAS_CLIENTS * CAS_ROUNDS), `counter after ${CAS_CLIENTS * CAS_ROUNDS} compare-and-sets (${aborts} aborted tries)`);
  await cs[0].del([key, cas]);
  for (const c of cs) close(c);
  return aborts;
}

async function main() {
  const started = Date.now();
  for (const resp of [2, 3]) {
    await workload(resp);
  }
  const aborts = await concurrent();
  step = '(end)';
  console.log(`mixed.js: ok against ${ADDR.host}:${ADDR.port} (RESP2 and RESP3, ${aborts} WATCH aborts under contention) in ${Date.now() - started} ms`);
}

const globalTimer = setTimeout(() => fail(`global timeout: the script did not finish within ${TIMEOUT_MS} ms`), TIMEOUT_MS);
process.on('unhandledRejection', err => fail(`unhandled rejection: ${err && err.stack ? err.stack : err}`));
main().then(() => {
  clearTimeout(globalTimer);
  process.exit(0);
}, err => fail(err && err.stack ? err.stack : String(err)));
