import type { Scenario } from '../bench.types.js';
import { conversationReadScenario } from './conversation-read.scenario.js';

/** Every scenario `--scenario` can name, in the order a full run measures them. Add new ones here. */
export const SCENARIOS: readonly Scenario[] = [conversationReadScenario];
