import { asyncMigrations } from '@chat/async';
import { InitialSchema1763845200000 } from './1763845200000-initial-schema.js';

/** Every migration, oldest first. Listed explicitly so the built app needs no glob at run time. */
export const migrations = [InitialSchema1763845200000, ...asyncMigrations];
