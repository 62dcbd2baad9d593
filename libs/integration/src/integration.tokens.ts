/** The resolved `PerformanceIntegrationOptions` (what `forRoot` got, or `forRootAsync`'s factory returned). */
export const INTEGRATION_OPTIONS = Symbol('INTEGRATION_OPTIONS');

/** Which subsystems this app turned on (`PerformanceIntegrationExtras`, resolved). */
export const INTEGRATION_SUBSYSTEMS = Symbol('INTEGRATION_SUBSYSTEMS');
