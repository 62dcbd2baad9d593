export { PerformanceIntegrationModule } from './integration.module.js';
