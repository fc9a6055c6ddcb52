/** What every route module receives: the content core, the auth guard and the reply helpers. */
import type { Cms } from '../../core/cms.js';
import type { Guard } from '../auth.js';
import type { Replier } from '../reply.js';

export interface RouteContext {
  cms: Cms;
  guard: Guard;
  replier: Replier;
}
