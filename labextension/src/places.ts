import type { BadgeProvider } from './badges';
import { trans } from './i18n';

export const PLACE_BADGE_CLASS = 'cs3lab-PlaceBadge';

/** What the server says of a place's entry (`mount` on each listing model). */
interface IMount {
  kind: 'space' | 'ocm' | 'share' | string;
  owner?: string;
  site?: string;
  role?: string;
}

/** The short badge text and the tooltip of an entry of a place, or null. */
export function describePlaceEntry(model: {
  mount?: IMount;
}): { text: string; title: string } | null {
  const mount = model.mount;
  if (!mount) {
    return null;
  }
  switch (mount.kind) {
    case 'ocm':
      return {
        text: mount.site ?? 'other site',
        title: `Shared with you by ${mount.owner} (${mount.site}) as ${mount.role}. Saves go to their site; no write lock is taken there.`
      };
    case 'share':
      return {
        text: mount.owner ?? 'shared',
        title: `Shared with you by ${mount.owner}`
      };
    case 'space':
      return { text: 'space', title: trans.__('A project space') };
    default:
      return { text: mount.kind, title: mount.kind };
  }
}

/**
 * The badge of the entries of the root's places (Spaces, Shared with me,
 * Federated shares): where an entry comes from, from its listing model.
 */
export const placeBadge: BadgeProvider = (node, model) => {
  const described = describePlaceEntry(model as { mount?: IMount });
  const nameColumn = node.querySelector('.jp-DirListing-itemName') ?? node;
  let badge = nameColumn.querySelector<HTMLElement>(`.${PLACE_BADGE_CLASS}`);
  if (!described) {
    badge?.remove();
    return;
  }
  if (!badge) {
    badge = document.createElement('span');
    badge.className = PLACE_BADGE_CLASS;
    nameColumn.appendChild(badge);
  }
  badge.textContent = described.text;
  badge.title = described.title;
};
