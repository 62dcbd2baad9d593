import type { Baseline } from '../bench.types.js';
import { helloBaseline } from './hello.baseline.js';

/** Every baseline a scenario can name. Add new ones here. */
export const BASELINES: ReadonlyMap<string, Baseline> = new Map([helloBaseline].map((b) => [b.name, b]));
