export {
  ExplainConnection,
  NotExplainableError,
  explainableKind,
  needsGenericPlan,
  placeholderCount,
  type ExplainConnectionOptions,
  type ExplainResult,
  type ExplainSession,
  type ExplainSessions,
  type ExplainStatement,
  type Explainer,
} from './explain-connection.js';
export {
  SlowQueryAnalyzer,
  type CapturedPlan,
  type PlannedQuery,
  type SlowQuery,
  type SlowQueryAnalyzerOptions,
  type SlowQueryAnalyzerStats,
} from './plan-capture.js';
export { planRoot, planUsesIndex, summarizePlan, walkPlan, type PlanNode, type PlanSummary, type SeqScanSummary } from './plan-summary.js';
export {
  IndexAdvisor,
  createIndexStatement,
  feedAdvisor,
  indexCandidates,
  isLargeEnough,
  type CandidateOptions,
  type IndexAdvisorOptions,
  type IndexAdvisorStats,
  type IndexCandidate,
  type IndexColumn,
  type IndexSuggestion,
  type RelationInfo,
  type ServedQuery,
  type VerificationMethod,
} from './index-advisor.js';
export { filterPredicates, sortColumns, type ColumnPredicate, type ScanTarget, type SortColumn } from './filter-expression.js';
export {
  PgStatStatementsReader,
  shapeStatementRows,
  statementsToSamples,
  type PgStatStatementsAvailability,
  type RawStatementRow,
  type StatementStat,
  type TopStatementsOptions,
} from './pg-stat-statements.js';
export { TokenBucket, systemScheduler, type Scheduler } from './rate-limit.js';
export { indexName, quoteIdent } from './sql-identifiers.js';
