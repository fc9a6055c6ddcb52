/** The settings schema and the built-in defaults (config/default-settings.yaml) agree key for key. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadCheckedSettings, SettingsError } from '../src/core/settings.js';
import { removeProject, tempProject } from './helpers.js';

describe('settings schema', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeProject));
  const projectWith = (yaml: string) => {
    const dir = tempProject(false);
    dirs.push(dir);
    mkdirSync(path.join(dir, 'config', 'flextype'), { recursive: true });
    writeFileSync(path.join(dir, 'config', 'flextype', 'settings.yaml'), yaml);
    return dir;
  };

  it('the defaults alone are valid and every default key is a documented setting', () => {
    const dir = tempProject(false);
    dirs.push(dir);
    assert.deepEqual(loadCheckedSettings(dir).unknownKeys, []);
  });

  it('project keys are kept (for registry.public) and reported as unknown, also inside collections', () => {
    const checked = loadCheckedSettings(projectWith('site:\n  title: T\nentries:\n  collections:\n    default:\n      colour: red\n'));
    assert.deepEqual(checked.unknownKeys.sort(), ['entries.collections.default.colour', 'site']);
    assert.equal((checked.settings['site'] as { title: string }).title, 'T');
  });

  it('every problem is listed at once, each with its key, what was expected and what was found', () => {
    const dir = projectWith('timezone: Mars/Base\ntokens:\n  hash_rounds: 99\nentries:\n  collections:\n    notes:\n      filename: entry\n      extension: txt\n      serializer: xml\n');
    assert.throws(() => loadCheckedSettings(dir), (err: Error) => {
      assert.ok(err instanceof SettingsError);
      assert.match(err.message, /\(3 problems\)/);
      assert.match(err.message, /timezone: expected UTC or an IANA time zone name such as Europe\/Berlin, found "Mars\/Base"/);
      assert.match(err.message, /tokens\.hash_rounds: expected a number of at most 31, found 99/);
      assert.match(err.message, /entries\.collections\.notes\.serializer: expected one of .*yaml.*, found "xml"/);
      return true;
    });
  });
});
