/** The package's programmatic API: start a server on a project, or work on a project's content directly. */
export { startServer, type RunningServer, type StartOptions } from './http/start.js';
export { buildServer, type ServerOptions } from './http/server.js';
export { Cms, type CmsOptions } from './core/cms.js';
export {
  checkSettings,
  loadCheckedSettings,
  loadManifest,
  loadSettings,
  projectSettingsFile,
  SettingsError,
  type CollectionSettings,
  type Manifest,
  type Settings,
} from './core/settings.js';
export { settingsSchema } from './core/settings-schema.js';
export { Registry } from './core/registry.js';
export { CmsError } from './core/errors.js';
export { createLogger } from './logging.js';
export {
  DEFAULT_TOLERANCE_SECONDS,
  signatureHeader,
  verifySignature as verifyWebhookSignature,
  type VerifyInput,
  type VerifyResult,
} from './core/webhooks/signature.js';
export type { WebhookEvent, WebhookEventName } from './core/webhooks/events.js';
