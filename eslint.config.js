// Lint: typescript-eslint recommended rules plus the import-direction table from STYLE.md 2.1.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

/** Roles whose imports of each other are limited to the other's index.ts/client.ts. */
const ROLES = ['querier', 'distributor', 'ruler', 'frontend', 'compactor'];
const ROLE_LAYERING = { group: ['**/server/**', '**/app/**'], message: 'roles never import the server or the app graph' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/gen/**', '**/*.gen.cjs', 'data/**', 'bench/out/**', '**/*.tmp.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-console': 'error',
    },
  },
  { files: ['cmd/**', 'bench/**', 'test/**', '**/*.test.ts'], rules: { 'no-console': 'off', '@typescript-eslint/no-explicit-any': 'off' } },
  // Dependency direction: lower layers never import roles, the server or the app graph.
  {
    files: ['src/model/**', 'src/util/**', 'src/errors.ts'],
    rules: restrict([{ group: ['**/logql/**', '**/chunk/**', '**/storage/**', '**/server/**', '**/app/**', '**/ingester/**', '**/querier/**', '**/distributor/**'], message: 'model/util import nothing above them' }]),
  },
  {
    files: ['src/logql/**', 'src/chunk/**', 'src/storage/**', 'src/iter/**'],
    rules: restrict([{ group: ['**/server/**', '**/app/**', '**/ingester/**', '**/querier/**', '**/distributor/**', '**/config/**'], message: 'libraries never import roles, server or app' }]),
  },
  {
    files: ['src/loghttp/**'],
    rules: restrict([{ group: ['**/server/**', '**/app/**', '**/ingester/**', '**/querier/**', '**/distributor/**', '**/frontend/**', '**/storage/**', '**/config/**'], message: "loghttp is Loki's HTTP query API formats, shared by the querier's routes and the query-frontend: it imports only logql, model and util" }]),
  },
  {
    files: ['src/cli/**'],
    rules: restrict([{ group: ['**/server/**', '**/app/**', '**/ingester/**', '**/querier/**', '**/distributor/**', '**/storage/**', '**/chunk/**', '**/config/**', '**/logql/log/**', '**/logql/engine/**'], message: 'the CLI talks HTTP: it imports model and logql/syntax only' }]),
  },
  {
    files: ['src/ingester/**'],
    rules: restrict([ROLE_LAYERING]),
  },
  // Role boundaries: a role reaches another only through its interface (STYLE.md 2.1). The
  // ingester through `client.ts` alone; the other roles through `index.ts` or `client.ts`.
  // server/ and app/ wire concrete roles and are not restricted.
  ...ROLES.map((role) => ({
    files: [`src/${role}/**`],
    rules: restrict([
      ROLE_LAYERING,
      { group: ['**/ingester/**', '!**/ingester/client.js'], message: 'roles reach the ingester only through ingester/client.ts (its interfaces)' },
      {
        group: ROLES.filter((r) => r !== role).flatMap((r) => [`**/${r}/**`, `!**/${r}/index.js`, `!**/${r}/client.js`]),
        message: "roles import each other only through the other role's index.ts or client.ts",
      },
    ]),
  })),
);
