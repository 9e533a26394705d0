/**
 * Every figure a bench prints carries the machine's load average at that moment: on a shared machine a
 * figure means little without it (the 176 ms audio figure was taken under load, unmarked).
 */
import { loadavg, availableParallelism } from 'node:os';

/** `load 1.52/1.20/0.98 on 2 cpus`: the 1, 5 and 15 minute load averages. */
export const loadNote = (): string =>
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join('/')} on ${availableParallelism()} cpus`;

/** Prints a figure with the load average beside it. */
export const report = (line: string): void => console.log(`${line}  [${loadNote()}]`);

export const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

export const percentile = (values: number[], q: number): number =>
  [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))];
