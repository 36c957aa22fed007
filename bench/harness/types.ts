import type { BenchResources } from "./resources";

export type Mode = "quick" | "full";

/** What a suite gets from the runner: the servers, its own isolated resources, and the shared settings. */
export interface SuiteContext {
  mode: Mode;
  /** Concurrent clients per cell, e.g. [1, 8, 32]. */
  concurrency: number[];
  /** Each cell is measured in this many interleaved rounds (contenders take turns), to spread noise. */
  rounds: number;
  /** The server's URL as configured; suites never use its database, only CREATE DATABASE next to it. */
  databaseUrl: string;
  redisUrl: string;
  resources: BenchResources;
  /** Aborted on Ctrl-C; pass it to measureCell (CellPlan.signal) so the clients stop. */
  signal: AbortSignal;
  log(message: string): void;
}

/** One table of results. Rows are already formatted; the reporter only lays them out. */
export interface ResultTable {
  title: string;
  columns: string[];
  /** Columns (by index) to right-align: the numbers. */
  numeric: number[];
  rows: string[][];
}

export interface SuiteReport {
  /** Markdown bullets: what each contender does, exactly, and what it does not. */
  method: string[];
  tables: ResultTable[];
  /** Markdown bullets computed from the numbers: targets met or missed, where Idem is behind and why. */
  findings: string[];
  /** Targets this run missed: the section is still written, and the run exits non-zero. */
  missed?: string[];
}

export interface Suite {
  /** CLI name and the id of its section in docs/BENCHMARKS.md (`<!-- bench:<name>:start -->`). */
  name: string;
  title: string;
  summary: string;
  /** Placeholders are listed and run (they print that they are not implemented) but write nothing. */
  implemented: boolean;
  run(ctx: SuiteContext): Promise<SuiteReport | null>;
}
