/** Where the project is (flag, then FLEXTYPE_PROJECT, then ./project) and how to open it. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Cms } from '../core/cms.js';
import { CliFailure } from './output.js';

export interface ProjectOption {
  project?: string;
}

export function projectDirOf(options: ProjectOption): string {
  return path.resolve(options.project ?? process.env['FLEXTYPE_PROJECT'] ?? 'project');
}

/** Opens the project for a one-off command; refuses a folder that does not exist. */
export function openProject(options: ProjectOption, mustExist = true): Cms {
  const dir = projectDirOf(options);
  if (mustExist && !existsSync(dir)) {
    throw new CliFailure(`project folder ${dir} does not exist (use --project DIR or FLEXTYPE_PROJECT)`, 2);
  }
  return new Cms({ projectDir: dir, settings: { cache: { watch: false } } });
}

export function pidFileOf(projectDir: string): string {
  return path.join(projectDir, 'var', 'server.json');
}
