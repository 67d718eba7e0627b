import { MemoryStore } from '../../collector/store/memory.js';
import { storeSuite } from './store-suite.js';

storeSuite('memory', () => ({ open: () => new MemoryStore(), cleanup: () => {} }));
