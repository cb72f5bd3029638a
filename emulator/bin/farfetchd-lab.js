#!/usr/bin/env node
// Entry point of the `farfetchd-lab` command. The library is TypeScript, run through tsx so that
// a checkout works right after `npm install`, with no build step that could go stale.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
