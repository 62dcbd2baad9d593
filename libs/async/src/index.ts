export { AsyncProcessorModule } from './async.module.js';
