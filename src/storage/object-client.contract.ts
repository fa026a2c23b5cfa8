/**
 * The behaviour every ObjectClient must show. Backend tests call
 * `runObjectClientContract(name, make)`; `make` returns a fresh, empty client per test.
 */
import { afterEach, beforeEach, describe, expect, it as itBase } from 'vitest';
import { InvalidError, NotFoundError } from '../errors.js';
import type { ObjectClient } from './object-client.js';

/** A fresh client over empty storage plus a function that removes what it created. */
export interface ObjectClientFixture {
  client: ObjectClient;
  cleanup(): Promise<void>;
}

const keysOf = (objs: readonly { key: string }[]): string[] => objs.map((o) => o.key);

/**
 * Options of a contract run. `knownServerBugs` names tests that a third-party test server
 * fails through its own bugs (not the client's); they are skipped with the reason shown.
 */
export interface ContractOptions {
  knownServerBugs?: Readonly<Record<string, string>>;
}

export function runObjectClientContract(name: string, make: () => Promise<ObjectClientFixture>, opts: ContractOptions = {}): void {
  const bugs = opts.knownServerBugs ?? {};
  const it = (title: string, fn: () => Promise<void>): void => {
    const why = bugs[title];
    if (why !== undefined) itBase.skip(`${title} (skipped on ${name}: ${why})`, fn);
    else itBase(title, fn);
  };
  describe(`ObjectClient contract: ${name}`, () => {
    let fx: ObjectClientFixture;
    let c: ObjectClient;
    beforeEach(async () => {
      fx = await make();
      c = fx.client;
    });
    afterEach(async () => {
      await c.close();
      await fx.cleanup();
    });

    it('puts and gets', async () => {
      await c.put('a/b/c.txt', Buffer.from('hello'));
      expect((await c.get('a/b/c.txt')).toString()).toBe('hello');
    });

    it('stores empty and binary bodies byte for byte', async () => {
      const bin = Buffer.alloc(70_000);
      for (let i = 0; i < bin.length; i++) bin[i] = (i * 131 + (i >> 8)) & 0xff;
      await c.put('bin', bin);
      await c.put('empty', Buffer.alloc(0));
      expect((await c.get('bin')).equals(bin)).toBe(true);
      expect((await c.get('empty')).length).toBe(0);
      const l = await c.list('');
      expect(l.objects.map((o) => [o.key, o.sizeBytes])).toEqual([
        ['bin', bin.length],
        ['empty', 0],
      ]);
    });

    it('does not alias the caller buffer', async () => {
      const body = Buffer.from('abc');
      await c.put('k', body);
      body[0] = 0x7a;
      const got = await c.get('k');
      expect(got.toString()).toBe('abc');
      got[1] = 0x7a;
      expect((await c.get('k')).toString()).toBe('abc');
    });

    it('overwrites', async () => {
      await c.put('k', Buffer.from('first, longer body'));
      await c.put('k', Buffer.from('second'));
      expect((await c.get('k')).toString()).toBe('second');
      expect((await c.list('')).objects).toHaveLength(1);
    });

    it('reads ranges, cutting at the end', async () => {
      await c.put('r', Buffer.from('0123456789'));
      const cases: [number, number, string][] = [
        [0, 3, '012'],
        [4, 2, '45'],
        [8, 10, '89'],
        [0, 10, '0123456789'],
        [9, 1, '9'],
        [10, 5, ''],
        [50, 5, ''],
        [3, 0, ''],
      ];
      for (const [off, len, want] of cases) expect((await c.getRange('r', off, len)).toString()).toBe(want);
    });

    it('rejects bad ranges', async () => {
      await c.put('r', Buffer.from('x'));
      await expect(c.getRange('r', -1, 1)).rejects.toBeInstanceOf(InvalidError);
      await expect(c.getRange('r', 0, -1)).rejects.toBeInstanceOf(InvalidError);
      await expect(c.getRange('r', 0.5, 1)).rejects.toBeInstanceOf(InvalidError);
    });

    it('reports missing keys with NotFoundError', async () => {
      await c.put('dir/x', Buffer.from('x'));
      await expect(c.get('nope')).rejects.toBeInstanceOf(NotFoundError);
      await expect(c.getRange('nope', 0, 1)).rejects.toBeInstanceOf(NotFoundError);
      await expect(c.get('dir')).rejects.toBeInstanceOf(NotFoundError); // a prefix is not an object
      await expect(c.get('dir/x/y')).rejects.toBeInstanceOf(NotFoundError);
    });

    it("rejects reads whose signal has aborted with the signal's reason, and reads normally otherwise", async () => {
      await c.put('ab/x', Buffer.from('xyz'));
      const reason = new Error('deadline passed');
      const ac = new AbortController();
      ac.abort(reason);
      await expect(c.get('ab/x', { signal: ac.signal })).rejects.toBe(reason);
      await expect(c.getRange('ab/x', 0, 2, { signal: ac.signal })).rejects.toBe(reason);
      await expect(c.list('ab/', undefined, { signal: ac.signal })).rejects.toBe(reason);
      await expect(c.list('', '/', { signal: ac.signal })).rejects.toBe(reason);
      const live = new AbortController().signal;
      expect((await c.get('ab/x', { signal: live })).toString()).toBe('xyz');
      expect((await c.getRange('ab/x', 1, 5, { signal: live })).toString()).toBe('yz');
      expect(keysOf((await c.list('ab/', '/', { signal: live })).objects)).toEqual(['ab/x']);
    });

    it('deletes idempotently', async () => {
      await c.put('d/1', Buffer.from('1'));
      await c.put('d/2', Buffer.from('2'));
      await c.delete('d/1');
      await c.delete('d/1');
      await c.delete('never/existed');
      await expect(c.get('d/1')).rejects.toBeInstanceOf(NotFoundError);
      expect(keysOf((await c.list('')).objects)).toEqual(['d/2']);
      await c.delete('d/2');
      expect(await c.list('', '/')).toEqual({ objects: [], prefixes: [] });
      await c.put('d/3', Buffer.from('3')); // the emptied prefix is usable again
      expect(keysOf((await c.list('d/')).objects)).toEqual(['d/3']);
    });

    it('rejects unsafe keys with InvalidError', async () => {
      const bad = ['', '/abs', 'a//b', 'a/', '../x', 'a/../b', './a', 'a/.', 'a\\b', 'nul\0x'];
      for (const k of bad) {
        await expect(c.put(k, Buffer.from('x')), k).rejects.toBeInstanceOf(InvalidError);
        await expect(c.get(k), k).rejects.toBeInstanceOf(InvalidError);
        await expect(c.delete(k), k).rejects.toBeInstanceOf(InvalidError);
      }
      expect((await c.list('')).objects).toEqual([]);
    });

    it('lists recursively without a delimiter, sorted, with sizes and times', async () => {
      const before = Date.now() - 5_000;
      const keys = ['b/2', 'a-c', 'a/b', 'a/a/z', 'b/1', 'c', 'a/b0'];
      for (const k of keys) await c.put(k, Buffer.from(k));
      const all = await c.list('');
      expect(keysOf(all.objects)).toEqual(['a-c', 'a/a/z', 'a/b', 'a/b0', 'b/1', 'b/2', 'c']);
      expect(all.prefixes).toEqual([]);
      for (const o of all.objects) {
        expect(o.sizeBytes).toBe(Buffer.byteLength(o.key));
        expect(o.modifiedMs).toBeGreaterThan(before);
        expect(o.modifiedMs).toBeLessThan(Date.now() + 5_000);
      }
      expect(keysOf((await c.list('a/')).objects)).toEqual(['a/a/z', 'a/b', 'a/b0']);
      expect(keysOf((await c.list('a')).objects)).toEqual(['a-c', 'a/a/z', 'a/b', 'a/b0']);
      expect(keysOf((await c.list('a/b')).objects)).toEqual(['a/b', 'a/b0']);
      expect(keysOf((await c.list('zz')).objects)).toEqual([]);
      expect(keysOf((await c.list('c/')).objects)).toEqual([]);
    });

    it('lists one level with a delimiter, like S3 common prefixes', async () => {
      for (const k of ['idx/1/t1/a', 'idx/1/t1/b', 'idx/1/t2/a', 'idx/2/t1/a', 'idx/top', 'idx0', 'other/x']) {
        await c.put(k, Buffer.from('x'));
      }
      const root = await c.list('', '/');
      expect(keysOf(root.objects)).toEqual(['idx0']);
      expect(root.prefixes).toEqual(['idx/', 'other/']);
      const idx = await c.list('idx/', '/');
      expect(keysOf(idx.objects)).toEqual(['idx/top']);
      expect(idx.prefixes).toEqual(['idx/1/', 'idx/2/']);
      expect(await c.list('idx/1/', '/')).toEqual({ objects: [], prefixes: ['idx/1/t1/', 'idx/1/t2/'] });
      const t1 = await c.list('idx/1/t1/', '/');
      expect(keysOf(t1.objects)).toEqual(['idx/1/t1/a', 'idx/1/t1/b']);
      expect(t1.prefixes).toEqual([]);
      // A partial-segment prefix.
      const partial = await c.list('idx', '/');
      expect(keysOf(partial.objects)).toEqual(['idx0']);
      expect(partial.prefixes).toEqual(['idx/']);
      expect(await c.list('idx/1/t', '/')).toEqual({ objects: [], prefixes: ['idx/1/t1/', 'idx/1/t2/'] });
    });

    it('lists more than 1000 keys in full, in order', async () => {
      const want: string[] = [];
      const puts: Promise<void>[] = [];
      for (let i = 0; i < 1234; i++) {
        const k = `many/${String(i % 7)}/${String(i).padStart(5, '0')}`;
        want.push(k);
        puts.push(c.put(k, Buffer.from([i & 0xff])));
      }
      await Promise.all(puts);
      want.sort();
      expect(keysOf((await c.list('many/')).objects)).toEqual(want);
      const level = await c.list('many/', '/');
      expect(level.prefixes).toHaveLength(7);
      expect(keysOf((await c.list('many/3/', '/')).objects)).toEqual(want.filter((k) => k.startsWith('many/3/')));
    });

    it('sorts non-ASCII keys by UTF-8 bytes', async () => {
      const keys = ['u/\u{1F600}', 'u/\uFF5E', 'u/\u00e9', 'u/z'];
      for (const k of keys) await c.put(k, Buffer.from('x'));
      const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(keysOf((await c.list('u/')).objects)).toEqual(sorted);
      expect((await c.get('u/\u{1F600}')).toString()).toBe('x');
    });

    it('survives concurrent puts: distinct keys all land, one key ends whole', async () => {
      const bodies = Array.from({ length: 24 }, (_, i) => Buffer.alloc(20_000 + i * 512, i + 1));
      await Promise.all(bodies.map((b, i) => c.put(`conc/${i}`, b)));
      for (let i = 0; i < bodies.length; i++) expect((await c.get(`conc/${i}`)).equals(bodies[i]!)).toBe(true);
      await Promise.all(bodies.map((b) => c.put('same', b)));
      const got = await c.get('same');
      expect(bodies.some((b) => b.equals(got))).toBe(true);
      // Concurrent readers of an object being replaced see old or new bodies, never a mix.
      const reads: Promise<Buffer>[] = [];
      const writes: Promise<void>[] = [];
      for (let i = 0; i < bodies.length; i++) {
        writes.push(c.put('same', bodies[i]!));
        reads.push(c.get('same'));
      }
      await Promise.all(writes);
      for (const r of await Promise.all(reads)) expect(bodies.some((b) => b.equals(r))).toBe(true);
    });

    it('copes with puts and deletes racing in one prefix', async () => {
      const ops: Promise<void>[] = [];
      for (let i = 0; i < 40; i++) {
        ops.push(c.put(`race/p/${i}`, Buffer.from(String(i))));
        if (i % 2 === 1) ops.push(c.delete(`race/p/${i - 1}`));
      }
      await Promise.all(ops);
      for (let i = 1; i < 40; i += 2) expect((await c.get(`race/p/${i}`)).toString()).toBe(String(i));
    });
  });
}
