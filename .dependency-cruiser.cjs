/* global module */
// `npm run lint`'s import check (dependency-cruiser): no import cycle anywhere, and no layer reaching
// backwards. The layer order, written down once — a file may import its own layer and the ones below:
//   1 core      shared/core/                      (numeric, nlp, dataset, io, config, errors, logger, storage)
//   2 pipeline  shared/pipeline/                  (the pipeline's stages, the model file and its loader)
//   3 flow      shared/runtime/flow/              (queues, job types, the flow of a run)
//   4 runtime   shared/runtime/{redis,runs,metrics,events}/ (run control, its records and cache, the model
//               registry, webhook events)
//   5 services  shared/runtime/{classify,report,schedules}/ (above run control: it calls them through hooks)
//   6 apps      producers/, workers/, board/
// test/ and tools/ (sample generator, bench, eval, demo) may import anything; nothing else imports them.
const CORE = '^shared/core/';
const ML = '^shared/pipeline/';
const FLOW = '^shared/runtime/flow/';
const RUNTIME = '^shared/runtime/(redis|runs|metrics|events)/';
const SERVICES = '^shared/runtime/(classify|report|schedules)/';
const APPS = '^(producers|workers|board)/';
const TOOLS = '^(test|tools)/';

const above = (...layers) => layers.join('|');
const layerRule = (name, from, to, comment) => ({
  name,
  severity: 'error',
  comment,
  from: { path: from },
  to: { path: to },
});

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'an import cycle: break it by moving what both sides need below both',
      from: {},
      to: { circular: true },
    },
    layerRule(
      'core-imports-upwards',
      CORE,
      above(ML, FLOW, RUNTIME, SERVICES, APPS, TOOLS),
      'core (numeric, nlp, dataset, io, config, errors, logger, storage) imports only core',
    ),
    layerRule(
      'ml-imports-upwards',
      ML,
      above(FLOW, RUNTIME, SERVICES, APPS, TOOLS),
      'the pipeline (stages, model) imports only core and pipeline: no runs, flow, Redis, report',
    ),
    layerRule(
      'flow-imports-upwards',
      FLOW,
      above(RUNTIME, SERVICES, APPS, TOOLS),
      'the flow (queues, job types) imports only core, ML and flow: run control builds on it, not under it',
    ),
    layerRule(
      'runtime-imports-upwards',
      RUNTIME,
      above(SERVICES, APPS, TOOLS),
      'run control (redis, runs, metrics) does not import classify or report: they hook into it',
    ),
    layerRule(
      'services-import-apps',
      SERVICES,
      above(APPS, TOOLS),
      'classify and report do not import the producers, workers, board or tools',
    ),
    layerRule('apps-import-tools', APPS, TOOLS, 'producers, workers and board do not import test/ or tools'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    includeOnly: '^(shared|producers|workers|board|test|tools)/',
  },
};
