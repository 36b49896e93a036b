/**
 * Every page of the dashboard, one entry each: its path, its title, its navigation label and what
 * a key needs to see it. A page is added here and nowhere else (the gateway serves the page for
 * any client route). Topics are derived from the functions' topic triggers (the API has no
 * GET /v1/topics); dead letters and workflow runs read their own routes.
 */
import type { Page } from './page.js';
import type { RouteSpec } from './router.js';
import { DeadLettersPage } from './pages/dead-letters.js';
import { DeployPage } from './pages/deploy.js';
import { ExecutionPage } from './pages/execution.js';
import { ExecutionsPage } from './pages/executions.js';
import { FunctionPage } from './pages/function.js';
import { FunctionsPage } from './pages/functions.js';
import { TopicsPage } from './pages/topics.js';
import { WorkersPage } from './pages/workers.js';
import { WorkflowRunPage, WorkflowRunsPage } from './pages/workflow-runs.js';

export const ROUTES: readonly RouteSpec<Page>[] = [
  { pattern: '/functions', title: 'Functions', nav: 'Functions', allowed: (c) => c.readFunctions, page: FunctionsPage },
  { pattern: '/deploy', title: 'Deploy a function', nav: 'Deploy', allowed: (c) => c.deploy, page: DeployPage },
  { pattern: '/functions/:name', title: 'Function', allowed: (c) => c.readFunctions, page: FunctionPage },
  { pattern: '/executions', title: 'Executions', nav: 'Executions', allowed: (c) => c.readExecutions, page: ExecutionsPage },
  { pattern: '/executions/:id', title: 'Execution', allowed: (c) => c.readExecutions, page: ExecutionPage },
  { pattern: '/dead-letters', title: 'Dead letters', nav: 'Dead letters', allowed: (c) => c.readExecutions, page: DeadLettersPage },
  { pattern: '/workers', title: 'Workers', nav: 'Workers', allowed: (c) => c.cluster, page: WorkersPage },
  { pattern: '/topics', title: 'Topics', nav: 'Topics', allowed: (c) => c.readFunctions, page: TopicsPage },
  { pattern: '/workflow-runs', title: 'Workflow runs', nav: 'Workflow runs', allowed: (c) => c.readExecutions, page: WorkflowRunsPage },
  { pattern: '/workflow-runs/:id', title: 'Workflow run', allowed: (c) => c.readExecutions, page: WorkflowRunPage },
];
