import type { Baseline } from '../bench.types.js';
import { helloBaseline } from './hello.baseline.js';
import { pgPkBaseline } from './pg-pk.baseline.js';

/** Every baseline a scenario can name. Add new ones here. */
export const BASELINES: ReadonlyMap<string, Baseline> = new Map([helloBaseline, pgPkBaseline].map((b) => [b.name, b]));
