import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidError, NotFoundError } from '../errors.js';
import { FilesystemObjectClient, FS_TMP_DIR } from './fs-client.js';
import { MemoryObjectClient } from './memory-client.js';
import { runObjectClientContract } from './object-client.contract.js';
import { compareKeys, rollUp, validateKey } from './object-client.js';

runObjectClientContract('memory', async () => ({ client: new MemoryObjectClient(), cleanup: async () => {} }));

runObjectClientContract('filesystem', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'silt-objects-'));
  return { client: new FilesystemObjectClient(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('FilesystemObjectClient specifics', () => {
  const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'silt-fs-'));
    try {
      await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it('maps keys to files under the root and persists across instances', () =>
    withDir(async (dir) => {
      await new FilesystemObjectClient(dir).put('t/chunks/x', Buffer.from('data'));
      expect((await stat(path.join(dir, 't', 'chunks', 'x'))).size).toBe(4);
      expect((await new FilesystemObjectClient(dir).get('t/chunks/x')).toString()).toBe('data');
    }));

  it('leaves no temp files behind and hides the temp directory', () =>
    withDir(async (dir) => {
      const c = new FilesystemObjectClient(dir);
      await Promise.all(Array.from({ length: 10 }, (_, i) => c.put(`k${i}`, Buffer.alloc(1000, i))));
      expect(await readdir(path.join(dir, FS_TMP_DIR))).toEqual([]);
      expect((await c.list('', '/')).prefixes).toEqual([]);
      expect((await c.list('')).objects).toHaveLength(10);
      await expect(c.put(`${FS_TMP_DIR}/x`, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidError);
    }));

  it('prunes empty directories on delete', () =>
    withDir(async (dir) => {
      const c = new FilesystemObjectClient(dir);
      await c.put('a/b/c/d', Buffer.from('x'));
      await c.put('a/keep', Buffer.from('x'));
      await c.delete('a/b/c/d');
      expect((await readdir(path.join(dir, 'a'))).sort()).toEqual(['keep']);
    }));

  it('does not report directories without objects as prefixes', () =>
    withDir(async (dir) => {
      const c = new FilesystemObjectClient(dir);
      await c.put('x/y', Buffer.from('x'));
      await import('node:fs/promises').then((f) => f.mkdir(path.join(dir, 'empty', 'deeper'), { recursive: true }));
      expect((await c.list('', '/')).prefixes).toEqual(['x/']);
    }));

  it('rejects a key that collides with a directory of other keys', () =>
    withDir(async (dir) => {
      const c = new FilesystemObjectClient(dir);
      await c.put('p/q', Buffer.from('x'));
      await expect(c.put('p', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidError);
      await expect(c.put('p/q/r', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidError);
    }));

  it('reads an object shorter than `into` into it, and a longer one into new memory', () =>
    withDir(async (dir) => {
      const c = new FilesystemObjectClient(dir);
      const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 255));
      await c.put('k', body);
      for (const size of [0, 1, 4999, 5000, 5001, 9000]) {
        const into = Buffer.alloc(size, 0xee);
        const got = await c.get('k', { into });
        expect(got.equals(body), `into ${size}`).toBe(true);
        // Only a buffer with room past the object's end can tell the whole object was read.
        if (size > 5000) expect(got.buffer).toBe(into.buffer);
        else expect(got.buffer).not.toBe(into.buffer);
      }
      await expect(c.get('missing', { into: Buffer.alloc(10) })).rejects.toBeInstanceOf(NotFoundError);
    }));

  it('lists nothing for prefixes no valid key can have', () =>
    withDir(async (dir) => {
      const c = new FilesystemObjectClient(dir);
      await c.put('a/b', Buffer.from('x'));
      for (const p of ['../', '/a', 'a//', './']) expect(await c.list(p)).toEqual({ objects: [], prefixes: [] });
    }));
});

describe('object-client helpers', () => {
  it('compareKeys agrees with UTF-8 byte order', () => {
    const words = ['a', 'ab', 'b', '\u00e9', '\uFF5E', '\u{1F600}', '\uE000', '\u{10000}', 'a/b', 'a-b', ''];
    for (const x of words) {
      for (const y of words) {
        const want = Math.sign(Buffer.compare(Buffer.from(x), Buffer.from(y)));
        expect(Math.sign(compareKeys(x, y)), `${x} vs ${y}`).toBe(want);
      }
    }
  });

  it('rollUp groups by the delimiter after the prefix', () => {
    const objs = ['a/1', 'a/2/x', 'a/2/y', 'a/3|q', 'a/3|r/s'].map((key) => ({ key, sizeBytes: 0, modifiedMs: 0 }));
    expect(rollUp(objs, 'a/', '/')).toEqual({ objects: [objs[0], objs[3]], prefixes: ['a/2/', 'a/3|r/'] });
    expect(rollUp(objs, 'a/', '|').prefixes).toEqual(['a/3|']);
    expect(rollUp(objs, 'a/', undefined).objects).toHaveLength(5);
  });

  it('validateKey accepts ordinary keys', () => {
    for (const k of ['a', 'fake/chunks/0123/1-2-3', 'index/19876/t/w-0001.idx', '.hidden/x', 'a..b']) expect(() => validateKey(k)).not.toThrow();
  });
});
