/**
 * A restricted pickle reader for what torch.save and numpy write (binary protocols 2-5, plus
 * the protocol-0/1 container opcodes they still emit). It only builds data: GLOBAL yields a
 * name, REDUCE/NEWOBJ on that name go through the whitelist in globals.ts, and persistent ids
 * (torch storages) go to the caller. Malformed or truncated input raises `CheckpointError`
 * with the opcode and byte offset; the loop always advances, so it cannot hang.
 */
import { CheckpointError } from 'shared';
import { MAX_PICKLE_PROTOCOL, PICKLE_OPCODE_NAMES } from './constants.js';
import type { CallSite } from './globals.js';
import { applyBuild, callGlobal, describe, isPickledObject, isPickleGlobal } from './globals.js';
import type { PickledObject, PickleGlobal } from './types.js';

export interface UnpickleOptions {
  /** How the pickle is named in errors, e.g. `ckpt.pth:ckpt/data.pkl`. */
  source: string;
  /** File path reported in `CheckpointError.path`. */
  path?: string;
  /** Resolves a persistent id (BINPERSID); torch uses it for storages. */
  persistentLoad?: (pid: unknown, site: CallSite) => unknown;
}

const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

/** Python ints up to 2^53 become numbers; larger ones stay bigint so no digit is lost. */
function toIntValue(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function opcodeLabel(op: number): string {
  const name = PICKLE_OPCODE_NAMES[op];
  const printable = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : '';
  return `0x${op.toString(16).padStart(2, '0')}${printable}${name ? ` (${name})` : ''}`;
}

class Unpickler implements CallSite {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly options: UnpickleOptions;
  private pos = 0;
  private opStart = 0;
  private op = 0;
  private stack: unknown[] = [];
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();

  constructor(bytes: Uint8Array, options: UnpickleOptions) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.options = options;
  }

  fail(message: string): never {
    throw new CheckpointError(
      `${this.options.source}: ${message} (pickle opcode ${opcodeLabel(this.op)} at offset ${this.opStart})`,
      this.options.path,
    );
  }

  private need(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.bytes.length) {
      throw new CheckpointError(
        `${this.options.source}: pickle is truncated: opcode ${opcodeLabel(this.op)} at offset ${this.opStart} needs ${n} more bytes, ${this.bytes.length - this.pos} left`,
        this.options.path,
      );
    }
  }

  private u8(): number {
    this.need(1);
    // biome-ignore lint/style/noNonNullAssertion: need(1) has checked that pos is inside bytes
    return this.bytes[this.pos++]!;
  }

  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} is out of range`);
    return Number(v);
  }

  private take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A newline-terminated ASCII line (GLOBAL operands, protocol-0 numbers). */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.need(this.bytes.length - this.pos + 1);
    const text = latin1.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }

  /** Signed little-endian two's-complement integer of n bytes (LONG1/LONG4). */
  private long(n: number): number | bigint {
    const raw = this.take(n);
    if (n === 0) return 0;
    let value = 0n;
    // biome-ignore-start lint/style/noNonNullAssertion: raw holds exactly n > 0 bytes (take(n) checked), and i < n
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]!);
    if (raw[n - 1]! & 0x80) value -= 1n << BigInt(8 * n);
    // biome-ignore-end lint/style/noNonNullAssertion: raw holds exactly n > 0 bytes (take(n) checked), and i < n
    return toIntValue(value);
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const items = this.stack;
    const previous = this.metastack.pop();
    if (previous === undefined) this.fail('no MARK on the stack');
    this.stack = previous;
    return items;
  }

  private memoGet(index: number): unknown {
    if (!this.memo.has(index)) this.fail(`memo entry ${index} was never stored`);
    return this.memo.get(index);
  }

  private memoPut(index: number): void {
    this.memo.set(index, this.top());
  }

  private setItems(target: unknown, items: unknown[]): void {
    if (items.length % 2 !== 0) this.fail('odd number of items for a dict');
    let dict: Map<unknown, unknown>;
    if (target instanceof Map) dict = target;
    else if (isPickledObject(target)) dict = target.dictItems ??= new Map();
    else this.fail(`cannot set items on ${describe(target)}`);
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  }

  private appendItems(target: unknown, items: unknown[]): void {
    if (Array.isArray(target)) target.push(...items);
    else if (isPickledObject(target)) {
      target.listItems ??= [];
      target.listItems.push(...items);
    } else this.fail(`cannot append to ${describe(target)}`);
  }

  private instantiate(callee: unknown, args: unknown): unknown {
    if (!Array.isArray(args)) return this.fail(`expected an argument tuple, got ${describe(args)}`);
    if (isPickleGlobal(callee)) return callGlobal(callee, args, this);
    return this.fail(`cannot call ${describe(callee)}`);
  }

  private global(module: string, name: string): PickleGlobal {
    return { kind: 'global', module, name };
  }

  load(): unknown {
    const bytes = this.bytes;
    for (;;) {
      if (this.pos >= bytes.length) {
        throw new CheckpointError(
          `${this.options.source}: pickle is truncated: no STOP opcode before the end (${bytes.length} bytes)`,
          this.options.path,
        );
      }
      this.opStart = this.pos;
      // biome-ignore lint/style/noNonNullAssertion: the check above has made sure pos < bytes.length
      this.op = bytes[this.pos++]!;
      switch (this.op) {
        case 0x80: {
          // PROTO
          const protocol = this.u8();
          if (protocol > MAX_PICKLE_PROTOCOL) this.fail(`unsupported pickle protocol ${protocol}`);
          break;
        }
        case 0x95: // FRAME: framing is only a read-ahead hint
          this.u64();
          break;
        case 0x2e: // STOP
          return this.pop();
        case 0x28: // MARK
          this.metastack.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP
          this.pop();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.stack.push(this.top());
          break;
        case 0x4e: // NONE
          this.stack.push(null);
          break;
        case 0x88: // NEWTRUE
          this.stack.push(true);
          break;
        case 0x89: // NEWFALSE
          this.stack.push(false);
          break;
        case 0x4a: // BININT
          this.stack.push(this.i32());
          break;
        case 0x4b: // BININT1
          this.stack.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.stack.push(this.u16());
          break;
        case 0x8a: // LONG1
          this.stack.push(this.long(this.u8()));
          break;
        case 0x8b: {
          // LONG4
          const n = this.i32();
          if (n < 0) this.fail(`negative LONG4 length ${n}`);
          this.stack.push(this.long(n));
          break;
        }
        case 0x47: {
          // BINFLOAT: big-endian double
          this.need(8);
          this.stack.push(this.view.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }
        case 0x58: // BINUNICODE
          this.stack.push(utf8.decode(this.take(this.u32())));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.stack.push(utf8.decode(this.take(this.u8())));
          break;
        case 0x8d: // BINUNICODE8
          this.stack.push(utf8.decode(this.take(this.u64())));
          break;
        case 0x55: // SHORT_BINSTRING (Python 2 str, read as latin-1 text)
          this.stack.push(latin1.decode(this.take(this.u8())));
          break;
        case 0x54: {
          // BINSTRING
          const n = this.i32();
          if (n < 0) this.fail(`negative BINSTRING length ${n}`);
          this.stack.push(latin1.decode(this.take(n)));
          break;
        }
        case 0x43: // SHORT_BINBYTES
          this.stack.push(this.take(this.u8()).slice());
          break;
        case 0x42: // BINBYTES
          this.stack.push(this.take(this.u32()).slice());
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          this.stack.push(this.take(this.u64()).slice());
          break;
        case 0x7d: // EMPTY_DICT
          this.stack.push(new Map());
          break;
        case 0x5d: // EMPTY_LIST
          this.stack.push([]);
          break;
        case 0x29: // EMPTY_TUPLE
          this.stack.push([]);
          break;
        case 0x8f: // EMPTY_SET
          this.stack.push(new Set());
          break;
        case 0x64: {
          // DICT
          const items = this.popMark();
          const dict = new Map();
          this.setItems(dict, items);
          this.stack.push(dict);
          break;
        }
        case 0x6c: // LIST
        case 0x74: {
          // TUPLE
          // popMark swaps this.stack, so it must run before the push is looked up.
          const items = this.popMark();
          this.stack.push(items);
          break;
        }
        case 0x85: // TUPLE1
          this.stack.push([this.pop()]);
          break;
        case 0x86: {
          // TUPLE2
          const b = this.pop();
          const a = this.pop();
          this.stack.push([a, b]);
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.stack.push([a, b, c]);
          break;
        }
        case 0x91: {
          // FROZENSET
          const items = this.popMark();
          this.stack.push(new Set(items));
          break;
        }
        case 0x90: {
          // ADDITEMS
          const items = this.popMark();
          const target = this.top();
          if (!(target instanceof Set)) this.fail(`cannot add items to ${describe(target)}`);
          for (const item of items) target.add(item);
          break;
        }
        case 0x71: // BINPUT
          this.memoPut(this.u8());
          break;
        case 0x72: // LONG_BINPUT
          this.memoPut(this.u32());
          break;
        case 0x94: // MEMOIZE
          this.memoPut(this.memo.size);
          break;
        case 0x68: // BINGET
          this.stack.push(this.memoGet(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.stack.push(this.memoGet(this.u32()));
          break;
        case 0x73: {
          // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.setItems(this.top(), [key, value]);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x61: {
          // APPEND
          const value = this.pop();
          this.appendItems(this.top(), [value]);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x63: {
          // GLOBAL
          const module = this.line();
          const name = this.line();
          this.stack.push(this.global(module, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.stack.push(this.global(module, name));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.pop();
          const callee = this.pop();
          this.stack.push(this.instantiate(callee, args));
          break;
        }
        case 0x81: {
          // NEWOBJ
          const args = this.pop();
          const cls = this.pop();
          this.stack.push(this.instantiate(cls, args));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX: keyword arguments are kept with the placeholder's args
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          const built = this.instantiate(cls, args);
          if (isPickledObject(built) && kwargs instanceof Map && kwargs.size > 0) {
            const withKwargs: PickledObject = { ...built, args: [...built.args, kwargs] };
            this.stack.push(withKwargs);
          } else {
            this.stack.push(built);
          }
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.pop();
          applyBuild(this.top(), state, this);
          break;
        }
        case 0x51: {
          // BINPERSID
          const pid = this.pop();
          if (!this.options.persistentLoad) this.fail('persistent id without a persistent loader');
          this.stack.push(this.options.persistentLoad(pid, this));
          break;
        }
        default: {
          const name = PICKLE_OPCODE_NAMES[this.op];
          throw new CheckpointError(
            `${this.options.source}: ${name ? 'unsupported' : 'unknown'} pickle opcode ${opcodeLabel(this.op)} at offset ${this.opStart}`,
            this.options.path,
          );
        }
      }
    }
  }
}

/**
 * Unpickles `bytes` into plain data (see `PickleValue`). Never executes anything from the
 * input; throws `CheckpointError` for malformed, truncated or unsupported pickles.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  return new Unpickler(bytes, options).load();
}
