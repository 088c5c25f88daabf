// A worker for the RPC module's tests (workers.test.ts): started by startWorkers, never imported by production code.
import { CheckpointError, ConfigError } from '../../errors/errors.js';
import { serveWorker, transferring } from '../serve.js';

export interface EchoInit {
  index: number;
  /** One Int32 flag per worker, set by its close hook. */
  closed: SharedArrayBuffer;
  /** Makes the setup throw (a ConfigError) in the worker with this index. */
  failSetupAt?: number;
}

export type EchoMethods = {
  /** Answers after `delayMs`, with the worker's index. */
  echo: { request: { text: string; delayMs: number }; response: string };
  /** Doubles every value in place and moves the buffer back. */
  double: { request: Float32Array; response: Float32Array };
  /** Throws the kind of error asked for. */
  fail: { request: 'checkpoint' | 'plain'; response: never };
  /** Ends the thread with this exit code, without answering. */
  exit: { request: number; response: never };
};

serveWorker<EchoMethods, EchoInit, { index: number }>((init) => {
  if (init.failSetupAt === init.index) throw new ConfigError(`setup of worker ${init.index} refused on purpose`);
  const closed = new Int32Array(init.closed);
  return {
    ready: { index: init.index },
    handlers: {
      echo: ({ text, delayMs }) => new Promise((resolve) => setTimeout(() => resolve(`${init.index}:${text}`), delayMs)),
      double: (values) => {
        for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * 2;
        return transferring(values, [values.buffer as ArrayBuffer]);
      },
      fail: (kind) => {
        if (kind === 'checkpoint') throw new CheckpointError('/w/ckpt.pth: blocks.0: expected shape [4], got [5]', '/w/ckpt.pth');
        throw new RangeError('index 9 out of range');
      },
      exit: (code) => process.exit(code),
    },
    close: () => {
      Atomics.store(closed, init.index, 1);
    },
  };
});
