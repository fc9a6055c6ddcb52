/** What every route module receives: the content core, the auth guard and the reply helpers. */
import type { Cms } from '../../core/cms.js';
import type { Guard } from '../auth.js';
import type { HeavyQueryGate } from '../heavy-queries.js';
import type { Replier } from '../reply.js';

export interface RouteContext {
  cms: Cms;
  guard: Guard;
  replier: Replier;
  /** Queues heavy collection queries (503 past its depth). */
  heavyQueries: HeavyQueryGate;
}
