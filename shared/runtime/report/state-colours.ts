/**
 * One colour per state a run or a stage can show, for the `/ui` page (badges, chart, legend) and the run
 * report alike. Total over every listed run state and stage state, so a new state cannot go uncoloured.
 */
import { ListedState, StageState } from '../runs/record';

export type ShownState = ListedState | StageState;

export const STATE_COLOURS: Record<ShownState, string> = {
  pending: '#9e9e9e',
  waiting: '#42a5f5',
  active: '#1565c0',
  retrying: '#ef6c00',
  completed: '#2e7d32',
  cached: '#2e7d32',
  failed: '#c62828',
  cancelled: '#757575',
  skipped: '#9e9e9e',
  deleting: '#6d4c41',
};

/** For a state string read from elsewhere (job data, an older record): its colour, grey when unknown. */
export const stateColour = (state: string): string =>
  Object.prototype.hasOwnProperty.call(STATE_COLOURS, state) ? STATE_COLOURS[state as ShownState] : '#616161';

/** `.state-<name>{background:<colour>}` for every state: the CSS rules of state badges. */
export const STATE_BADGE_CSS = Object.entries(STATE_COLOURS)
  .map(([state, colour]) => `.state-${state}{background:${colour}}`)
  .join('');
