/**
 * Import rules (make imports): the folder tree is the architecture. gateway/, scheduler/ and worker/
 * are separate processes and share only common/ and proto/; cli/ starts the processes; test/ and
 * bench/ may import anything. Product code never imports test scaffolding, and nothing is a cycle.
 */
const PROCESS_SHARED = '^(common|proto)/';
const SCAFFOLDING = ['[.]test[.]ts$', '(^|/)testing/', '^test/', '^bench/', '^scheduler/store/store-contract[.]ts$'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'An import cycle: split the shared part out.', from: {}, to: { circular: true } },
    {
      name: 'worker-not-scheduler',
      severity: 'error',
      comment: 'worker/ and scheduler/ meet only in proto/ and common/.',
      from: { path: '^worker/' },
      to: { path: '^scheduler/' },
    },
    {
      name: 'scheduler-not-worker',
      severity: 'error',
      comment: 'worker/ and scheduler/ meet only in proto/ and common/.',
      from: { path: '^scheduler/' },
      to: { path: '^worker/' },
    },
    {
      name: 'gateway-not-processes',
      severity: 'error',
      comment: 'The gateway talks to the scheduler over gRPC only.',
      from: { path: '^gateway/' },
      to: { path: '^(scheduler|worker)/' },
    },
    {
      name: 'shared-stays-shared',
      severity: 'error',
      comment: 'common/ and proto/ import no process, no CLI, no tests.',
      from: { path: PROCESS_SHARED },
      to: { path: '^(gateway|scheduler|worker|cli|test|bench)/' },
    },
    {
      name: 'processes-not-cli',
      severity: 'error',
      comment: 'cli/ starts the processes, not the other way round.',
      from: { path: '^(gateway|scheduler|worker|common|proto)/' },
      to: { path: '^cli/' },
    },
    {
      name: 'product-not-scaffolding',
      severity: 'error',
      comment: 'Product code (what tsconfig.json builds) never imports tests or test scaffolding (**/testing/, test/, bench/).',
      from: { path: '^(gateway|scheduler|worker|common|proto|cli|web)/', pathNot: SCAFFOLDING },
      to: { path: SCAFFOLDING },
    },
    {
      name: 'web-is-an-island',
      severity: 'error',
      comment: 'The dashboard runs in a browser and talks to the gateway over HTTP only: of the rest it may import the client package alone.',
      from: { path: '^web/' },
      to: { path: '^(common|proto|gateway|scheduler|worker|cli|test|bench|scripts)/' },
    },
    {
      name: 'nothing-imports-web',
      severity: 'error',
      comment: 'The processes serve dist/web/ as files; only tests drive the dashboard (through a browser).',
      from: { path: '^(common|proto|gateway|scheduler|worker|cli|client)/' },
      to: { path: '^web/' },
    },
    { name: 'not-to-unresolvable', severity: 'error', comment: 'An import that resolves to nothing.', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.d.ts'],
    },
  },
};
