import type { Command } from 'commander';
import { Option } from 'commander';
import type { ConfigOverride } from '../config/index.js';

/**
 * Flags that set config keys. The raw flag text is converted only where that is
 * unambiguous (numbers, lists, booleans); anything else reaches the validator as given, so
 * `--lr fast` fails as "train.lr (--lr): expected number, got "fast"" rather than as NaN.
 */
export type FlagKind = 'number' | 'string' | 'numberList' | 'numberRange' | 'stringList' | 'boolean' | 'negatedBoolean';

export interface ConfigFlag {
  /** Commander flag spec, e.g. `--lr <number>` or `--no-shuffle`. */
  flags: string;
  /** Dotted config key the flag sets. */
  key: string;
  description: string;
  kind: FlagKind;
}

function convert(raw: unknown, kind: FlagKind): unknown {
  if (typeof raw !== 'string') return raw;
  const num = (s: string) => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s);
  switch (kind) {
    case 'number':
      return num(raw);
    case 'numberList':
      return raw.split(',').map((s) => num(s.trim()));
    case 'numberRange':
      return numberRange(raw);
    case 'stringList':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    default:
      return raw;
  }
}

/**
 * `1-5` → [1, 2, 3, 4, 5], `1,3-4` → [1, 3, 4]. Text that is not such a list comes back as given,
 * so that the validator names the flag and the value.
 */
function numberRange(raw: string): unknown {
  const out: number[] = [];
  for (const part of raw.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) return raw;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return raw;
    for (let k = from; k <= to; k++) out.push(k);
  }
  return out;
}

/** Commander's attribute name for a flag spec (`--weight-decay <x>` → `weightDecay`, `--no-shuffle` → `shuffle`). */
function attributeName(flags: string): string {
  return new Option(flags).attributeName();
}

export function addConfigFlags(cmd: Command, flags: readonly ConfigFlag[]): Command {
  for (const f of flags) cmd.addOption(new Option(f.flags, `${f.description} [config: ${f.key}]`));
  return cmd;
}

/** Collects the overrides of the flags the user actually gave. */
export function configOverrides(opts: Record<string, unknown>, flags: readonly ConfigFlag[], cmd?: Command): ConfigOverride[] {
  const out: ConfigOverride[] = [];
  for (const f of flags) {
    const attr = attributeName(f.flags);
    if (cmd && cmd.getOptionValueSource(attr) !== 'cli') continue;
    const value = opts[attr];
    if (value === undefined) continue;
    const flag = f.flags.split(/[ ,<[]/)[0] ?? f.flags;
    out.push({ key: f.key, value: convert(value, f.kind), flag });
  }
  return out;
}
