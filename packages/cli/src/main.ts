#!/usr/bin/env node
// The bin entry: the only place with process-level side effects.
import { main } from './program.js';

process.exitCode = await main(process.argv.slice(2));
