/**
 * One worker thread answering jobs in order: the plumbing shared by the block sealer and the
 * push decoder. A job is posted with an id; the worker replies `{ id, error? , ...result }`.
 *
 * The worker is started on first use and unref'd while idle, so it never keeps a process
 * alive. Off-loading is an optimisation, never a point of failure: when the worker cannot
 * start or dies, pending and later calls reject and callers do the work inline.
 */
import { Worker } from 'node:worker_threads';

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

  /** `module` and `callerUrl` as startSiltWorker takes them. */
  constructor(module: URL, callerUrl: string, name: string) {
    this.#module = module;
    this.#callerUrl = callerUrl;
    this.#name = name;
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
      if (this.#pending.size === 1) w.ref();
      w.postMessage({ ...job, id }, transfer);
    });
  }

  /** Stops the worker; pending calls reject. */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    if (w !== null) await w.terminate();
    this.#failAll(new Error(`${this.#name} closed`));
  }

  #start(): Worker | null {
    if (this.#worker !== null) return this.#worker;
    if (this.#failed) return null;
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
      if (this.#pending.size === 0) w.unref();
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

  #failAll(e: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) p.reject(e);
  }
}
