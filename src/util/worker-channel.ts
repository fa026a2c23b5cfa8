/**
 * One worker thread answering jobs in order: the plumbing shared by the block sealer and the
 * push decoder. A job is posted with an id; the worker replies `{ id, error? , ...result }`.
 *
 * The worker is started on first use and unref'd while idle, so it never keeps a process
 * alive, and stopped after IDLE_STOP_MS without a job: its isolate and malloc arena hold tens
 * of MB after a burst of work (~50 MB for the push decoder and block sealer after a 121 MB push
 * flood, bench/RESULTS.md), which V8 does not give back while the thread waits. The next call
 * starts another (~60–90 ms before its first reply). Off-loading is an optimisation, never a
 * point of failure: when the worker cannot start or dies, pending and later calls reject and
 * callers do the work inline.
 */
import { Worker } from 'node:worker_threads';

/** How long a worker waits without a job before it is stopped (the next call starts another). */
export const IDLE_STOP_MS = 30_000;

/**
 * Starts the worker body `module` (its URL without extension, resolved next to the caller:
 * `new URL('./seal-worker', import.meta.url)`), `.ts` under tsx, `.js` when built, through
 * worker-boot.mjs. `data` is the body's `workerData` (structured-cloned).
 */
export function startSiltWorker(module: URL, callerUrl: string, name: string, data: object = {}): Worker {
  const ts = callerUrl.endsWith('.ts');
  const entry = `${module.href}${ts ? '.ts' : '.js'}`;
  return new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { ...data, entry, ts }, name });
}

/** What a worker posts back: the job id and an error message or the result fields. */
export interface WorkerReply {
  id: number;
  error?: string;
}

interface Pending<R> {
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

export class WorkerChannel<R extends WorkerReply> {
  #worker: Worker | null = null;
  #failed = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending<R>>();
  readonly #module: URL;
  readonly #callerUrl: string;
  readonly #name: string;
  readonly #idleStopMs: number;
  #idleTimer: NodeJS.Timeout | null = null;
  /** Set by stopWhenIdle: the worker stops as soon as it has no job, not IDLE_STOP_MS later. */
  #stopOnIdle = false;

  /** `module` and `callerUrl` as startSiltWorker takes them; `idleStopMs` 0 keeps the worker while idle. */
  constructor(module: URL, callerUrl: string, name: string, idleStopMs = IDLE_STOP_MS) {
    this.#module = module;
    this.#callerUrl = callerUrl;
    this.#name = name;
    this.#idleStopMs = idleStopMs;
  }

  /**
   * Whether a worker is running: false before the first call and after an idle stop, when the
   * next call starts a new worker that knows nothing of earlier jobs (callers that keep state
   * in step with the worker's start it over then).
   */
  get running(): boolean {
    return this.#worker !== null;
  }

  /** True once the worker failed to start or died: callers should not wait for it. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Posts `job` (with `transfer` moved, not copied) and resolves with the reply. */
  call(job: object, transfer: ArrayBuffer[]): Promise<R> {
    const w = this.#start();
    if (w === null) return Promise.reject(new Error(`${this.#name} worker unavailable`));
    const id = this.#nextId++;
    return new Promise<R>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) {
        w.ref();
        if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
        this.#idleTimer = null;
      }
      w.postMessage({ ...job, id }, transfer);
    });
  }

  /**
   * Stops the worker now if it has no job, else once its last pending job is answered (callers
   * that stop calling — memory pressure, see PressureShedding — hand its isolate and arena back
   * at once instead of IDLE_STOP_MS later). A later call starts a new worker as usual.
   */
  stopWhenIdle(): void {
    const w = this.#worker;
    if (w === null) return;
    if (this.#pending.size > 0) {
      this.#stopOnIdle = true;
      return;
    }
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#stopIdle(w);
  }

  /** Stops the worker; pending calls reject. */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (w !== null) await w.terminate();
    this.#failAll(new Error(`${this.#name} closed`));
  }

  #start(): Worker | null {
    if (this.#worker !== null) return this.#worker;
    if (this.#failed) return null;
    this.#stopOnIdle = false;
    let w: Worker;
    try {
      w = startSiltWorker(this.#module, this.#callerUrl, this.#name);
    } catch {
      this.#failed = true;
      return null;
    }
    w.unref();
    w.on('message', (m: R) => {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) {
        w.unref();
        if (this.#stopOnIdle) this.#stopIdle(w);
        else if (this.#idleStopMs > 0) this.#idleTimer = setTimeout(() => this.#stopIdle(w), this.#idleStopMs).unref();
      }
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m);
    });
    const die = (e: Error): void => {
      this.#failed = true;
      this.#worker = null;
      this.#failAll(e);
    };
    w.on('error', die);
    w.on('exit', (code) => {
      if (this.#worker === w) die(new Error(`${this.#name} worker exited with code ${code}`));
    });
    this.#worker = w;
    return w;
  }

  /** Stops `w` if it is still this channel's worker and has had no job since the timer was set. */
  #stopIdle(w: Worker): void {
    this.#idleTimer = null;
    this.#stopOnIdle = false;
    if (this.#worker !== w || this.#pending.size > 0) return;
    // Not a failure: the exit handler sees another worker (or none) and lets it be.
    this.#worker = null;
    void w.terminate();
  }

  #failAll(e: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) p.reject(e);
  }
}
