// `node --import <this file>`: runs the quotes app's TypeScript sources as they are (see hooks.mjs).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
