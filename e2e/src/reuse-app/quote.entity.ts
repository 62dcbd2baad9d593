import { EntitySchema } from 'typeorm';

export interface Quote {
  id: number;
  text: string;
  author: string;
  /** Written by the `quote.analyse` task; null until it has run. */
  wordCount: number | null;
  analysedAt: Date | null;
  createdAt: Date;
}

export const QuoteEntity = new EntitySchema<Quote>({
  name: 'Quote',
  tableName: 'quotes',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    text: { type: String },
    author: { type: String },
    wordCount: { type: 'int', name: 'word_count', nullable: true },
    analysedAt: { type: 'timestamptz', name: 'analysed_at', nullable: true },
    createdAt: { type: 'timestamptz', name: 'created_at', createDate: true },
  },
});
