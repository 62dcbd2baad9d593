import type { Scenario } from '../bench.types.js';
import { aiCacheScenario } from './ai-cache.scenario.js';
import { conversationReadScenario } from './conversation-read.scenario.js';
import { monitorOverheadScenario } from './monitor-overhead.scenario.js';
import { singleFlightScenario } from './single-flight.scenario.js';
import { taskThroughputScenario } from './task-throughput.scenario.js';

/** Every scenario `--scenario` can name, in the order a full run measures them. Add new ones here. */
export const SCENARIOS: readonly Scenario[] = [
  conversationReadScenario,
  monitorOverheadScenario,
  aiCacheScenario,
  singleFlightScenario,
  taskThroughputScenario,
];
