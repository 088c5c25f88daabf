/**
 * Gathers the windows of several clips into full backbone batches. A clip job hands over its
 * windows and waits; a batch runs when `batchSize` windows are waiting, or when every active
 * clip job is waiting on the batcher (nobody else will add any), so a partial batch never stalls.
 */
export class WindowBatcher<W> {
  private pending: Array<{ windows: W[]; resolve: (rows: Float32Array[]) => void; reject: (e: unknown) => void }> = [];
  private pendingWindows = 0;
  private running: Promise<void> = Promise.resolve();
  private active = 0;
  /** Jobs whose windows are in a batch that has not finished: they cannot add more yet. */
  private inFlight = 0;

  constructor(
    private readonly batchSize: number,
    /** Runs one batch: concatenated windows in, one feature row per window out. */
    private readonly run: (windows: W[]) => Promise<Float32Array[]>,
  ) {}

  /** A clip job starts (it may add windows later). */
  enter(): void {
    this.active += 1;
  }

  /** A clip job ends; if everybody left is waiting, the partial batch goes. */
  leave(): void {
    this.active -= 1;
    this.maybeFlush();
  }

  /** Feature rows of `windows`, in order. The caller must be between `enter` and `leave`. */
  features(windows: W[]): Promise<Float32Array[]> {
    if (windows.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ windows, resolve, reject });
      this.pendingWindows += windows.length;
      this.maybeFlush();
    });
  }

  private maybeFlush(): void {
    while (this.pendingWindows >= this.batchSize || (this.pending.length > 0 && this.pending.length + this.inFlight >= this.active)) {
      const take = this.pending.splice(0);
      this.pendingWindows = 0;
      this.inFlight += take.length;
      const all = take.flatMap((t) => t.windows);
      // Batches run one after another: the workers are already parallel inside a batch.
      this.running = this.running.then(async () => {
        try {
          const rows: Float32Array[] = [];
          for (let i = 0; i < all.length; i += this.batchSize) rows.push(...(await this.run(all.slice(i, i + this.batchSize))));
          let at = 0;
          for (const t of take) {
            t.resolve(rows.slice(at, at + t.windows.length));
            at += t.windows.length;
          }
        } catch (error) {
          for (const t of take) t.reject(error);
        } finally {
          this.inFlight -= take.length;
        }
      });
    }
  }
}
