import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  InternalServerErrorException,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { errorCodes } from 'fastify';
import { describe, expect, it } from 'vitest';
import { AppError, invalidInput, notFound, type AppErrorCode } from './app-error.js';
import { toErrorResponse } from './error-response.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('toErrorResponse', () => {
  describe('AppError', () => {
    it.each<[AppErrorCode, number, string, Record<string, string>]>([
      ['invalid_input', 400, 'Bad Request', {}],
      ['unauthenticated', 401, 'Unauthorized', {}],
      ['forbidden', 403, 'Forbidden', {}],
      ['not_found', 404, 'Not Found', {}],
      ['conflict', 409, 'Conflict', {}],
      ['model_rejected', 502, 'Bad Gateway', {}],
      ['model_bad_response', 502, 'Bad Gateway', {}],
      ['model_unavailable', 503, 'Service Unavailable', { 'retry-after': '5' }],
      ['dependency_unavailable', 503, 'Service Unavailable', { 'retry-after': '5' }],
      ['model_timeout', 504, 'Gateway Timeout', {}],
    ])('maps %s to %d %s', (code, status, reason, headers) => {
      const error = new AppError(code, 'what happened');
      const response = toErrorResponse(error);
      expect(response.status).toBe(status);
      expect(response.headers).toEqual(headers);
      if (status < 500) {
        expect(response.body).toEqual({ statusCode: status, error: reason, message: 'what happened' });
        expect(response.logDetail).toBeUndefined();
      } else {
        // Every 5xx gets an id the client can quote, and the detail is logged under it.
        expect(response.body).toEqual({ statusCode: status, error: reason, message: 'what happened', errorId: expect.stringMatching(UUID) });
        expect(response.logDetail).toBe(error);
      }
    });

    it('logs the cause of a 5xx AppError when there is one', () => {
      const cause = new Error('ECONNREFUSED 10.0.0.7:443');
      expect(toErrorResponse(new AppError('model_unavailable', 'down', { cause })).logDetail).toBe(cause);
    });

    it.each([
      [2.2, '3'],
      [30, '30'],
      [0, '1'],
      [0.01, '1'],
    ])('sends retryAfterSeconds %d as Retry-After %s', (seconds, header) => {
      const response = toErrorResponse(new AppError('model_unavailable', 'busy', { retryAfterSeconds: seconds }));
      expect(response.headers).toEqual({ 'retry-after': header });
    });

    it('sends Retry-After for any status that asks for it', () => {
      expect(toErrorResponse(new AppError('conflict', 'later', { retryAfterSeconds: 7 })).headers).toEqual({ 'retry-after': '7' });
    });

    it('adds extra body fields', () => {
      const error = new AppError('model_timeout', 'the model took too long').withBody({ userMessageId: 'm-1' });
      expect(toErrorResponse(error).body).toEqual({
        statusCode: 504,
        error: 'Gateway Timeout',
        message: 'the model took too long',
        userMessageId: 'm-1',
        errorId: expect.stringMatching(UUID),
      });
    });

    it('uses the helpers\' messages', () => {
      expect(toErrorResponse(notFound('Conversation')).body.message).toBe('Conversation not found');
      expect(toErrorResponse(invalidInput('limit must be positive')).status).toBe(400);
    });

    it('does not expose the cause', () => {
      const error = new AppError('dependency_unavailable', 'Redis is down', { cause: new Error('secret host 10.0.0.7') });
      expect(JSON.stringify(toErrorResponse(error))).not.toContain('10.0.0.7');
    });
  });

  describe('HttpException', () => {
    it('keeps class-validator style message arrays', () => {
      const messages = ['name must be a string', 'limit must not be greater than 100'];
      expect(toErrorResponse(new BadRequestException(messages))).toEqual({
        status: 400,
        headers: {},
        body: { statusCode: 400, error: 'Bad Request', message: messages },
      });
    });

    it.each([
      ['a Nest exception with a message', new NotFoundException('Cannot GET /nowhere'), 404, 'Not Found', 'Cannot GET /nowhere'],
      ['a Nest exception without a message', new ForbiddenException(), 403, 'Forbidden', 'Forbidden'],
      ['a string response', new HttpException('Too many requests, slow down', 429), 429, 'Too Many Requests', 'Too many requests, slow down'],
      ['an object response without message', new HttpException({ reason: 'x' }, 422), 422, 'Unprocessable Entity', 'Http Exception'],
      ['a non-string message', new HttpException({ message: 42 }, 400), 400, 'Bad Request', 'Http Exception'],
      ['a mixed message array', new HttpException({ message: ['a', 1] }, 400), 400, 'Bad Request', 'Http Exception'],
      ['an unusual status', new HttpException('short and stout', 418), 418, 'I Am A Teapot', 'short and stout'],
      ['a status with no name', new HttpException('odd', 499), 499, 'Error', 'odd'],
    ])('maps %s', (_label, exception, status, reason, message) => {
      expect(toErrorResponse(exception)).toEqual({ status, headers: {}, body: { statusCode: status, error: reason, message } });
    });

    it.each([
      ['500', new InternalServerErrorException('stack trace at db.ts:12')],
      ['503', new ServiceUnavailableException('pool exhausted on 10.0.0.7')],
    ])('hides a %s behind a 500 with an errorId', (_label, exception) => {
      const response = toErrorResponse(exception);
      expect(response.status).toBe(500);
      expect(response.body.errorId).toMatch(UUID);
      expect(response.logDetail).toBe(exception);
      expect(JSON.stringify(response.body)).not.toContain(exception.message);
    });
  });

  describe('errors raised by Fastify before a handler', () => {
    it.each([
      ['a too large body', new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), 413, 'Payload Too Large', 'Request body is too large'],
      ['a wrong media type', new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), 415, 'Unsupported Media Type', 'Content-Type must be application/json'],
      ['an empty JSON body', new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), 400, 'Bad Request', 'Body is empty but Content-Type is application/json'],
      [
        'an invalid JSON body',
        new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(),
        400,
        'Bad Request',
        "Body is not valid JSON but content-type is set to 'application/json'",
      ],
    ])('maps %s', (_label, error, status, reason, message) => {
      expect(toErrorResponse(error)).toEqual({ status, headers: {}, body: { statusCode: status, error: reason, message } });
    });

    it.each([
      [
        'the body size code',
        { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', message: 'x' },
        413,
        'Request body is too large',
      ],
      [
        'a JSON parser message',
        { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY', message: 'Unexpected token } in JSON at position 5' },
        400,
        'Body is not valid JSON: Unexpected token } in JSON at position 5',
      ],
      ['another client error', { statusCode: 404, code: 'FST_ERR_NOT_FOUND', message: 'Route GET:/x not found' }, 404, 'Route GET:/x not found'],
    ])('maps a plain object with %s', (_label, error, status, message) => {
      const response = toErrorResponse(error);
      expect(response.status).toBe(status);
      expect(response.body.message).toBe(message);
      expect(response.logDetail).toBeUndefined();
    });

    it.each([
      ['a 5xx status', { statusCode: 500, code: 'FST_ERR_X', message: 'inner detail' }],
      ['a non-string code', { statusCode: 400, code: 7, message: 'inner detail' }],
      ['a string status', { statusCode: '400', code: 'FST_ERR_X', message: 'inner detail' }],
    ])('treats %s as unexpected (500)', (_label, error) => {
      const response = toErrorResponse(error);
      expect(response.status).toBe(500);
      expect(JSON.stringify(response.body)).not.toContain('inner detail');
    });
  });

  describe('database down', () => {
    const connectionRefused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' });

    it.each([
      ['connection refused', connectionRefused],
      ['a connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
      ['admin shutdown (57P01)', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
      ['statement timeout (57014)', Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })],
      ['too many connections (53300)', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
      ['connection failure (08006)', Object.assign(new Error('connection failure'), { code: '08006' })],
      ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
      ['a terminated connection', new Error('Connection terminated unexpectedly')],
      ['a missing database (3D000)', Object.assign(new Error('database "chat" does not exist'), { code: '3D000' })],
      ['a starting server', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
      ['a shutting-down server by message', new Error('the database system is shutting down')],
      ['a server refusing connections by message', new Error('database "chat" is not currently accepting connections')],
      ['a TypeORM error wrapping the driver error', Object.assign(new Error('query failed'), { driverError: connectionRefused })],
      [
        'a doubly nested driver error',
        { message: 'outer', driverError: { message: 'middle', driverError: { code: '57P03' } } },
      ],
    ])('answers 503 with Retry-After and an errorId for %s', (_label, error) => {
      const response = toErrorResponse(error);
      expect(response).toEqual({
        status: 503,
        headers: { 'retry-after': '5' },
        body: {
          statusCode: 503,
          error: 'Service Unavailable',
          message: 'The database is not answering; try again shortly',
          errorId: expect.stringMatching(UUID),
        },
        logDetail: error,
      });
    });

    it.each([
      ['a unique violation (23505)', Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })],
      ['an error that is its own driverError', (() => {
        const e: Error & { driverError?: unknown } = new Error('self');
        e.driverError = e;
        return e;
      })()],
    ])('does not take %s for an outage', (_label, error) => {
      expect(toErrorResponse(error).status).toBe(500);
    });
  });

  describe('anything else', () => {
    it('answers 500 with an errorId, logs the error, and keeps its message out of the body', () => {
      const error = new TypeError("Cannot read properties of undefined (reading 'password')");
      const response = toErrorResponse(error);
      const errorId = response.body.errorId;
      expect(errorId).toMatch(UUID);
      expect(response).toEqual({
        status: 500,
        headers: {},
        body: { statusCode: 500, error: 'Internal Server Error', message: `Internal error (id ${errorId})`, errorId },
        logDetail: error,
      });
      expect(JSON.stringify(response.body)).not.toContain('password');
    });

    it.each([
      ['a string', 'boom'],
      ['null', null],
      ['undefined', undefined],
      ['a number', 42],
      ['a plain object', { secret: 'hunter2' }],
    ])('answers 500 for a thrown %s', (_label, thrown) => {
      const response = toErrorResponse(thrown);
      expect(response.status).toBe(500);
      expect(response.logDetail).toBe(thrown);
      expect(JSON.stringify(response.body)).not.toContain('hunter2');
    });

    it('gives each failure its own errorId', () => {
      const first = toErrorResponse(new Error('a')).body.errorId;
      const second = toErrorResponse(new Error('a')).body.errorId;
      expect(first).not.toBe(second);
    });
  });
});
