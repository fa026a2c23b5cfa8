/**
 * Golden files for the LogQL grammar, in lezer-logql's format: `# name`, the input, `==>`, then
 * the AST dump and the canonical print. Inputs are read from the file and the whole file is
 * regenerated and compared with toMatchFileSnapshot. To add a case, append `# name`, a blank
 * line, the query, a blank line and `==>`, then run `npx vitest run test/logql -u` and review.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors.js';
import { parseExpr } from '../../src/logql/syntax/parse.js';
import { printExpr } from '../../src/logql/syntax/printer.js';
import { formatTree } from '../../src/logql/syntax/tree.js';

const dir = new URL('../golden/logql/', import.meta.url);

interface Case {
  name: string;
  input: string;
}

function readCases(text: string): Case[] {
  const cases: Case[] = [];
  const blocks = text.split(/^# /m).slice(1);
  for (const block of blocks) {
    const nl = block.indexOf('\n');
    const name = block.slice(0, nl).trim();
    const rest = block.slice(nl + 1);
    const arrow = rest.indexOf('\n==>');
    const input = (arrow < 0 ? rest : rest.slice(0, arrow)).replace(/^\n+/, '').replace(/\n+$/, '');
    cases.push({ name, input });
  }
  return cases;
}

function render(c: Case): string {
  let out: string;
  try {
    const e = parseExpr(c.input);
    out = `${formatTree(e)}\n\nprinted: ${printExpr(e)}`;
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    out = `error: ${err.message}`;
  }
  return `# ${c.name}\n\n${c.input}\n\n==>\n\n${out}\n`;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.txt'));

describe('logql golden files', () => {
  it('has golden files', () => expect(files.length).toBeGreaterThan(0));
  it.each(files.map((f) => [f]))('%s', async (f) => {
    const url = new URL(f, dir);
    const cases = readCases(readFileSync(url, 'utf8'));
    expect(cases.length).toBeGreaterThan(0);
    await expect(cases.map(render).join('\n')).toMatchFileSnapshot(url.pathname);
  });
});
