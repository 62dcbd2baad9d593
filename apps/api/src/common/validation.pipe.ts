import { BadRequestException, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';

/**
 * The path of the first string holding a NUL character, or null. PostgreSQL text cannot store NUL,
 * so such input is refused up front with the field named, rather than failing in the database.
 */
function findNul(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (typeof value !== 'object' || value === null || depth > 64) return null;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return `${path}.${key.replaceAll('\u0000', '\\u0000')}`;
    const found = findNul(item, `${path}.${key}`, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Nest's ValidationPipe with the project's rules: unknown fields are rejected (400 naming them),
 * query strings are converted to the DTO's types, and a body that is not a JSON object (an array,
 * a string, `null`) is a 400 instead of reaching class-transformer.
 */
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      validationError: { target: false, value: false },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') {
      const where = findNul(value, metadata.type);
      if (where !== null) throw new BadRequestException(`${where} must not contain NUL (\\u0000) characters`);
    }
    if (metadata.type === 'body' && typeof metadata.metatype === 'function' && metadata.metatype !== Object) {
      if (value === undefined) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new BadRequestException('body must be a JSON object');
      }
    }
    return super.transform(value, metadata);
  }
}
