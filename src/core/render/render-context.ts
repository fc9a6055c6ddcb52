/** Builds a request's RenderContext from the assembled core (settings, registry, entries, files). */
import type { EntriesService } from '../entries/service.js';
import type { Registry } from '../registry.js';
import type { Settings } from '../settings.js';
import { getPath } from '../util.js';
import { createContentAccess } from './content-access.js';
import type { ProjectFiles, RenderContext, RequestInfo } from './context.js';
import { RenderBudget, type RenderLimits } from './limits.js';
import { createProjectFiles } from './project-files.js';

export interface RenderServices {
  settings: Settings;
  registry: Registry;
  entries: EntriesService;
  projectDir: string;
}

export function renderLimitsOf(settings: Settings): RenderLimits {
  const render = settings.entries.render;
  return { maxValueBytes: render.max_value_bytes, maxItems: render.max_items, maxTimeMs: render.max_time_ms };
}

const filesByProject = new WeakMap<Settings, ProjectFiles>();

export function createRenderContext(services: RenderServices, request?: RequestInfo): RenderContext {
  const { settings } = services;
  const limits = renderLimitsOf(settings);
  let files = filesByProject.get(settings);
  if (!files) {
    files = createProjectFiles({
      projectDir: services.projectDir,
      entriesDirectory: settings.entries.directory,
      maxFileBytes: limits.maxValueBytes,
      maxListed: limits.maxItems,
    });
    filesByProject.set(settings, files);
  }
  return {
    budget: new RenderBudget(limits),
    setting: (path) => getPath(settings, path),
    registry: (key) => services.registry.exposed(key),
    content: createContentAccess(services.entries),
    files,
    request,
  };
}
