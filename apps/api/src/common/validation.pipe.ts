import { BadRequestException, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';

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
    if (metadata.type === 'body' && typeof metadata.metatype === 'function' && metadata.metatype !== Object) {
      if (value === undefined) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new BadRequestException('body must be a JSON object');
      }
    }
    return super.transform(value, metadata);
  }
}
