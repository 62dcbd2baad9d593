import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateQuotesTable1764000000000 implements MigrationInterface {
  name = 'CreateQuotesTable1764000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE quotes (
        id serial PRIMARY KEY,
        text text NOT NULL,
        author text NOT NULL,
        word_count integer,
        analysed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE quotes');
  }
}
