#!/usr/bin/env node
/** `flextype`: the command-line interface (serve, tokens:*, entries:*, cache:*, storage:*). */
import { Command } from 'commander';
import { loadManifest } from '../core/settings.js';
import { registerCache } from './commands/cache.js';
import { registerEntries } from './commands/entries.js';
import { registerQuery } from './commands/query.js';
import { registerServe } from './commands/serve.js';
import { registerStorage } from './commands/storage.js';
import { registerTokens } from './commands/tokens.js';
import { fail, toleratePipeReadersLeaving } from './output.js';

toleratePipeReadersLeaving();

const program = new Command();
program
  .name('flextype')
  .description('Headless flat-file CMS with a Flextype 1.0 compatible REST API')
  .version(loadManifest().version)
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (text, write) => write(text) })
  .exitOverride((err) => {
    // commander's own errors (unknown option, missing argument): usage problems.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

registerServe(program);
registerTokens(program);
registerEntries(program);
registerCache(program);
registerQuery(program);
registerStorage(program);

program.parseAsync(process.argv).catch(fail);
