import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { Cms } from '../src/core/cms.js';
import { createCollectionResolver } from '../src/core/collections.js';
import { loadSettings } from '../src/core/settings.js';
import type { StoredEntry } from '../src/storage/engine.js';
import { FsEngine } from '../src/storage/fs/engine.js';
import { removeProject, tempProject } from './helpers.js';

/** A file engine whose reads of one id can be held after they have read the file. */
class GatedDriver extends FsEngine {
  gate: Promise<void> | undefined;
  heldId = '';
  override async read(id: string): Promise<StoredEntry | undefined> {
    const result = await super.read(id);
    if (id === this.heldId && this.gate) await this.gate;
    return result;
  }
}

describe('content store: a read racing a write', () => {
  let projectDir: string;
  let cms: Cms;
  let driver: GatedDriver;
  before(async () => {
    projectDir = tempProject(true);
    const settings = loadSettings(projectDir);
    driver = new GatedDriver({
      root: path.join(projectDir, 'entries'),
      resolveFormat: createCollectionResolver(settings.entries.collections),
      durable: false,
    });
    cms = new Cms({ projectDir, engine: driver, settings: { cache: { watch: false, poll_interval: 60_000 } } });
  });
  after(async () => {
    await cms.close();
    removeProject(projectDir);
  });

  it('never caches the older file over a newer write', async () => {
    const id = 'movies/arrival';
    let release!: () => void;
    driver.heldId = id;
    driver.gate = new Promise<void>((resolve) => (release = resolve));
    // This read takes the old file, then waits at the gate.
    const staleRead = cms.store.get(id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    driver.gate = undefined;
    await cms.entries.update(id, { year: 2030 });
    release();
    const old = await staleRead;
    assert.equal(old?.fields['year'], 2016, 'the held read saw the old file');
    // With a long poll interval the cache is trusted: it must hold the write, not the late read.
    const now = await cms.store.get(id);
    assert.equal(now?.fields['year'], 2030);
    const fetched = await cms.entries.fetch(id, undefined);
    assert.equal(fetched.kind === 'entry' ? fetched.data['year'] : undefined, 2030);
  });
});
