import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The `tasks` table: the source of truth of every task (BullMQ only carries them).
 *
 * - `lease_token`/`lease_expires_at` fence an attempt: only the holder of the current token may
 *   complete the task, and a lease that expired (its worker died) is taken over.
 * - idempotency keys are unique per owner (`NULLS NOT DISTINCT`, PostgreSQL 15+), so an ownerless
 *   task's key is unique too.
 * - the partial indexes serve the hot paths: the bound on pending tasks and the reconciler
 *   (unfinished), the admin list of failures (failed), the stats windows (finished).
 *
 * Add this class to your TypeORM `migrations`; `@chat/async` never changes a schema by itself.
 */
export class CreateTasksTable1763900000000 implements MigrationInterface {
  name = 'CreateTasksTable1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tasks (
        id uuid PRIMARY KEY,
        type varchar(100) NOT NULL,
        owner_id varchar(100),
        priority varchar(8) NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent', 'critical')),
        status varchar(9) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed')),
        payload jsonb NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL CHECK (max_attempts >= 1),
        timeout_ms integer NOT NULL CHECK (timeout_ms >= 1),
        idempotency_key varchar(200),
        result jsonb,
        error jsonb,
        lease_token uuid,
        lease_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE UNIQUE INDEX tasks_owner_idempotency_key ON tasks (owner_id, idempotency_key) NULLS NOT DISTINCT
        WHERE idempotency_key IS NOT NULL`);
    await q.query(`CREATE INDEX tasks_unfinished ON tasks (status, updated_at) WHERE status IN ('pending', 'running')`);
    await q.query(`CREATE INDEX tasks_failed ON tasks (created_at DESC, id DESC) WHERE status = 'failed'`);
    await q.query(`CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL`);
    await q.query(`CREATE INDEX tasks_listing ON tasks (created_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tasks');
  }
}

/** The migrations of `@chat/async`, oldest first, to append to an app's own list. */
export const asyncMigrations = [CreateTasksTable1763900000000];
