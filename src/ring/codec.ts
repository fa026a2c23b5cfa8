/**
 * The stored form of an `InstanceDesc`: one JSON object per etcd key, with a version field.
 * Loki keeps its whole ring in one protobuf value; one key per member lets each member's key
 * live on its own lease (see docs/adr/0021-etcd-ring.md). Values read back are checked field
 * by field: whatever is in etcd is input, not trusted state.
 */
import { INSTANCE_CODEC_VERSION, MAX_INSTANCE_VALUE_BYTES, MAX_TOKENS_PER_INSTANCE, TOKEN_CLAIMS_KEY_SUFFIX } from './consts.js';
import { INSTANCE_STATES, type InstanceDesc, type InstanceState } from './types.js';

/** Checks an instance id: non-empty, at most 253 characters, no `/` (it is a key segment). */
export function validInstanceId(id: string): boolean {
  return id.length > 0 && id.length <= 253 && !id.includes('/');
}

/** Encodes `d` for storage. */
export function encodeInstance(d: InstanceDesc): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: INSTANCE_CODEC_VERSION,
      id: d.id,
      addr: d.addr,
      httpAddr: d.httpAddr,
      state: d.state,
      tokens: d.tokens,
      timestampMs: d.timestampMs,
      registeredAtMs: d.registeredAtMs,
      zone: d.zone,
    }),
  );
}

/**
 * Decodes a stored instance. `id` is the key's last segment and must match the value's id.
 * Throws `TypeError` naming what is wrong.
 */
export function decodeInstance(id: string, value: Uint8Array): InstanceDesc {
  if (value.length > MAX_INSTANCE_VALUE_BYTES) throw new TypeError(`instance "${id}": value of ${value.length} bytes exceeds ${MAX_INSTANCE_VALUE_BYTES}`);
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.length).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new TypeError(`instance "${id}": invalid JSON: ${(e as Error).message}`);
  }
  const bad = (why: string): never => {
    throw new TypeError(`instance "${id}": ${why}`);
  };
  if (typeof o !== 'object' || o === null || Array.isArray(o)) bad('not an object');
  if (o['v'] !== INSTANCE_CODEC_VERSION) bad(`unsupported version ${JSON.stringify(o['v'])}`);
  if (o['id'] !== id) bad(`id ${JSON.stringify(o['id'])} does not match its key`);
  const str = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : bad(`${k} is not a string`));
  const num = (k: string): number => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : bad(`${k} is not a number`));
  const state = str('state');
  if (!INSTANCE_STATES.includes(state as InstanceState)) bad(`unknown state ${JSON.stringify(state)}`);
  const raw = o['tokens'];
  if (!Array.isArray(raw)) return bad('tokens is not an array');
  if (raw.length > MAX_TOKENS_PER_INSTANCE) bad(`${raw.length} tokens exceed ${MAX_TOKENS_PER_INSTANCE}`);
  let sorted = true;
  for (let i = 0; i < raw.length; i++) {
    const t: unknown = raw[i];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0xffffffff) bad(`token ${JSON.stringify(t)} is not a uint32`);
    if (i > 0 && (t as number) <= (raw[i - 1] as number)) sorted = false;
  }
  // Writers store sorted distinct tokens; repair rather than reject anything else.
  const tokens = sorted ? (raw as number[]) : [...new Set(raw as number[])].sort((a, b) => a - b);
  return {
    id,
    addr: str('addr'),
    httpAddr: str('httpAddr'),
    state: state as InstanceState,
    tokens,
    timestampMs: num('timestampMs'),
    registeredAtMs: num('registeredAtMs'),
    zone: '',
  };
}

/** Where ring `ringName` lives, relative to the KV prefix. */
export interface RingKeys {
  /** Prefix of every member key: `<ringName>/`. */
  readonly members: string;
  /** The token-claims key (see TOKEN_CLAIMS_KEY_SUFFIX). */
  readonly claims: string;
  /** Key of member `id`. */
  member(id: string): string;
}

/** Key layout of ring `ringName` (`ring`, `rulers`, `compactor`, ...). */
export function ringKeys(ringName: string): RingKeys {
  if (!validInstanceId(ringName)) throw new TypeError(`invalid ring name ${JSON.stringify(ringName)}`);
  return { members: `${ringName}/`, claims: `${ringName}${TOKEN_CLAIMS_KEY_SUFFIX}`, member: (id) => `${ringName}/${id}` };
}
