import { describeStoreConformance } from '../test-support/store-conformance.js';
import { MemoryStore } from './memory.js';

describeStoreConformance('memory', async () => ({ store: new MemoryStore() }));
