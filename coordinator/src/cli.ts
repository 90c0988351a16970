#!/usr/bin/env node
/**
 * The `fedwarden` command: the bin of @fedwarden/coordinator (cli/program.ts). Run it as node directly, with no
 * shell or package manager in between, so that SIGTERM and SIGINT reach the coordinator.
 */
import { loadExtensions } from './extensions/load-extensions.ts';
import { runCli } from './cli/program.ts';

process.exit(await runCli(process.argv.slice(2), { loadExtensions }));
