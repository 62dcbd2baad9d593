import type { Scenario } from '../bench.types.js';
import { aiCacheScenario } from './ai-cache.scenario.js';
import { conversationReadScenario } from './conversation-read.scenario.js';
import { loadMixScenario } from './load-mix.scenario.js';
import { messagePageDepthScenario } from './message-page-depth.scenario.js';
import { monitorOverheadConcurrentScenario } from './monitor-overhead-concurrent.scenario.js';
import { monitorOverheadScenario } from './monitor-overhead.scenario.js';
import { singleFlightScenario } from './single-flight.scenario.js';
import { taskThroughputScenario } from './task-throughput.scenario.js';

/** The load levels: the same everyday mix at four connection counts. */
export const LOAD_LEVELS = [
  { name: 'light', connections: 10 },
  { name: 'medium', connections: 50 },
  { name: 'heavy', connections: 100 },
  { name: 'stress', connections: 250 },
] as const;

/** Every scenario `--scenario` can name, in the order a full run measures them. Add new ones here. */
export const SCENARIOS: readonly Scenario[] = [
  conversationReadScenario,
  monitorOverheadScenario,
  monitorOverheadConcurrentScenario,
  aiCacheScenario,
  singleFlightScenario,
  taskThroughputScenario,
  messagePageDepthScenario,
  ...LOAD_LEVELS.map((level) => loadMixScenario(level.name, level.connections)),
];
