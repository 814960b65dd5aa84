// Import boundaries of src/ (docs/structure.md). `npm run check` runs this;
// a forbidden import fails `npm test`. Type-only imports count: a type that
// crosses a boundary couples the layers as much as a value does.
//
// Layers: routes → services → policies / db / lib / domain.
// plugins (Fastify hooks) sit beside routes; presenters turn service
// results into GitLab's JSON; schemas are input declarations; domain holds
// facts every layer may use (scopes, the modelled GitLab version).

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: move what both sides need into a lower module (src/domain for shared facts).',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'presenters-stay-presenters',
      severity: 'error',
      comment: 'Presenters shape data they are given; they never call services, routes or plugins.',
      from: { path: '^src/presenters/' },
      to: { path: '^src/(services|routes|plugins)/' },
    },
    {
      name: 'services-below-the-http-layer',
      severity: 'error',
      comment: 'Services know nothing of HTTP: no presenters, plugins or routes.',
      from: { path: '^src/services/' },
      to: { path: '^src/(presenters|plugins|routes)/' },
    },
    {
      name: 'lower-layers-stay-low',
      severity: 'error',
      comment: 'policies, db, lib and domain are used by the layers above and import none of them.',
      from: { path: '^src/(policies|db|lib|domain)/' },
      to: { path: '^src/(routes|services|presenters|plugins|schemas)/' },
    },
    {
      name: 'schemas-are-declarations',
      severity: 'error',
      comment: 'Input schemas declare input; they call no services and know no routes, presenters or plugins.',
      from: { path: '^src/schemas/' },
      to: { path: '^src/(routes|services|presenters|plugins)/' },
    },
    {
      name: 'routes-are-entry-points',
      severity: 'error',
      comment: 'Only the app and other routes import routes.',
      from: { path: '^src/', pathNot: '^src/(routes/|app\\.ts$)' },
      to: { path: '^src/routes/' },
    },
    {
      name: 'src-not-to-tests',
      severity: 'error',
      comment: 'The server never imports test or bench code.',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'src-not-to-dev-deps',
      severity: 'error',
      comment: 'A production install has no devDependencies: the server may import them for types only.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve to a file or an installed package.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
