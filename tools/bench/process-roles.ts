/**
 * What a sampled process is to the bench: `api` the API it submits runs to, `bench` itself (it reads the
 * run's record while it waits); `other` is anything else found in the tree.
 */
export type ProcessRole = 'worker' | 'sandbox' | 'api' | 'bench' | 's3 server' | 'redis-server' | 'other';

/** The roles in the order the bench prints them. */
export const PROCESS_ROLES: readonly ProcessRole[] = [
  'worker',
  'sandbox',
  'api',
  'bench',
  's3 server',
  'redis-server',
  'other',
];
