/**
 * A small kingpin-style flag parser (logcli uses kingpin): `--name value`, `--name=value`,
 * short forms (`-q`, `-o raw`), `--no-<bool>`, repeatable string flags, env fallbacks, and
 * positional arguments in between.
 */
import { CliError } from './errors.js';

export type FlagKind = 'string' | 'bool' | 'int' | 'strings';

export interface FlagSpec {
  name: string;
  kind: FlagKind;
  short?: string;
  def?: string;
  env?: string;
  help: string;
  /** Allowed values (an enum). */
  values?: readonly string[];
}

export type FlagValue = string | boolean | number | string[];

export interface Parsed {
  flags: Map<string, FlagValue>;
  args: string[];
}

function convert(spec: FlagSpec, raw: string): FlagValue {
  if (spec.values && !spec.values.includes(raw)) throw new CliError(`enum value must be one of ${spec.values.join(',')}, got '${raw}'`);
  switch (spec.kind) {
    case 'bool':
      if (/^(true|1|yes)$/i.test(raw)) return true;
      if (/^(false|0|no)$/i.test(raw)) return false;
      throw new CliError(`expected a boolean for --${spec.name}, got '${raw}'`);
    case 'int': {
      if (!/^-?\d+$/.test(raw)) throw new CliError(`strconv.ParseInt: parsing "${raw}": invalid syntax (--${spec.name})`);
      return Number(raw);
    }
    case 'strings':
      return [raw];
    default:
      return raw;
  }
}

/** Parses `argv` against `specs`; unknown flags are errors, as in kingpin. */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], env: Record<string, string | undefined>): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const flags = new Map<string, FlagValue>();
  const args: string[] = [];
  const set = (spec: FlagSpec, raw: string): void => {
    const v = convert(spec, raw);
    if (spec.kind === 'strings') flags.set(spec.name, [...((flags.get(spec.name) as string[] | undefined) ?? []), ...(v as string[])]);
    else flags.set(spec.name, v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      let name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const spec = byName.get(name);
      if (!spec && name.startsWith('no-') && eq < 0) {
        const b = byName.get(name.slice(3));
        if (b?.kind === 'bool') {
          flags.set(b.name, false);
          continue;
        }
      }
      if (!spec) throw new CliError(`unknown long flag '--${name}', try --help`);
      name = spec.name;
      if (eq >= 0) set(spec, a.slice(eq + 1));
      else if (spec.kind === 'bool') flags.set(name, true);
      else {
        if (i + 1 >= argv.length) throw new CliError(`expected argument for flag '--${name}'`);
        set(spec, argv[++i]!);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      const spec = byShort.get(a[1]!);
      if (!spec) throw new CliError(`unknown short flag '${a.slice(0, 2)}', try --help`);
      if (spec.kind === 'bool') {
        flags.set(spec.name, true);
        if (a.length > 2) throw new CliError(`unknown short flag '-${a[2]}', try --help`);
      } else if (a.length > 2) set(spec, a.slice(2));
      else {
        if (i + 1 >= argv.length) throw new CliError(`expected argument for flag '-${a[1]}'`);
        set(spec, argv[++i]!);
      }
      continue;
    }
    args.push(a);
  }
  for (const s of specs) {
    if (flags.has(s.name)) continue;
    const e = s.env ? env[s.env] : undefined;
    if (e !== undefined && e !== '') set(s, e);
    else if (s.def !== undefined) set(s, s.def);
  }
  return { flags, args };
}

/** Typed accessors over a parse result. */
export class Flags {
  constructor(private readonly p: Parsed) {}
  str(name: string): string {
    const v = this.p.flags.get(name);
    return typeof v === 'string' ? v : '';
  }
  bool(name: string): boolean {
    return this.p.flags.get(name) === true;
  }
  int(name: string): number {
    const v = this.p.flags.get(name);
    return typeof v === 'number' ? v : 0;
  }
  list(name: string): string[] {
    const v = this.p.flags.get(name);
    return Array.isArray(v) ? v : [];
  }
  has(name: string): boolean {
    return this.p.flags.has(name);
  }
  get args(): string[] {
    return this.p.args;
  }
}

/** `--help` text for a command. */
export function usage(title: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.kind === 'bool' ? '' : '=' + s.kind.toUpperCase().replace('STRINGS', 'STRING...')}`;
    const def = s.def !== undefined && s.def !== '' ? ` (default: ${s.def})` : '';
    const env = s.env ? ` [$${s.env}]` : '';
    return `  ${left.padEnd(34)} ${s.help}${def}${env}`;
  });
  return `${title}\n\nFlags:\n${rows.join('\n')}\n`;
}
