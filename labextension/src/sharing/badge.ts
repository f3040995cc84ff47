import type { BadgeProvider } from '../badges';
import { granteeLabel, IListingShare, sharingAPI } from './api';

export const SHARE_BADGE_CLASS = 'cs3lab-ShareBadge';

const plural = (n: number, one: string, many = `${one}s`): string =>
  `${n} ${n === 1 ? one : many}`;

/** "Shared with 1 person (editor), 1 link" from the listing's counts. */
export function shareSummary(share: IListingShare): string {
  const parts: string[] = [];
  const who: string[] = [];
  if (share.users) {
    who.push(plural(share.users, 'person', 'people'));
  }
  if (share.groups) {
    who.push(plural(share.groups, 'group'));
  }
  if (who.length) {
    const roles = share.roles.length ? ` (${share.roles.join(', ')})` : '';
    parts.push(`Shared with ${who.join(' and ')}${roles}`);
  }
  if (share.links) {
    parts.push(plural(share.links, 'link'));
  }
  const text = parts.join(', ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The share badge provider of the file browser's BadgeRenderer, from the
 * `share` field cs3lab puts on every listing entry (no call per entry). On
 * hover, one call fetches the names for the tooltip: "Shared with Bob Berger
 * (editor), 1 link".
 */
export const shareBadge: BadgeProvider = (node, model) => {
  const share = (model as { share?: IListingShare | null }).share;
  const nameColumn = node.querySelector('.jp-DirListing-itemName') ?? node;
  let badge = nameColumn.querySelector<HTMLElement>(`.${SHARE_BADGE_CLASS}`);
  if (!share || !share.shared) {
    badge?.remove();
    node.classList.remove('cs3lab-mod-shared');
    return;
  }
  if (!badge) {
    badge = document.createElement('span');
    badge.className = SHARE_BADGE_CLASS;
    badge.setAttribute('role', 'img');
    badge.addEventListener('mouseenter', () => void loadNames(badge!));
    nameColumn.appendChild(badge);
  }
  node.classList.add('cs3lab-mod-shared');
  const key = JSON.stringify([model.path, share]);
  if (badge.dataset.cs3labShare !== key) {
    badge.dataset.cs3labShare = key;
    badge.dataset.cs3labPath = model.path;
    badge.dataset.cs3labNamed = '';
    badge.classList.toggle(
      `${SHARE_BADGE_CLASS}-link`,
      !share.users && !share.groups
    );
    setTitle(badge, shareSummary(share));
  }
};

function setTitle(badge: HTMLElement, title: string): void {
  badge.title = title;
  badge.setAttribute('aria-label', title);
}

async function loadNames(badge: HTMLElement): Promise<void> {
  const path = badge.dataset.cs3labPath;
  if (path === undefined || badge.dataset.cs3labNamed) {
    return;
  }
  badge.dataset.cs3labNamed = '1';
  try {
    const access = await sharingAPI.access(path);
    const who = access.shares.map(
      s => `${granteeLabel(s.grantee)} (${s.role})`
    );
    const parts: string[] = [];
    if (who.length) {
      parts.push(`Shared with ${who.join(', ')}`);
    }
    if (access.links.length) {
      parts.push(plural(access.links.length, 'link'));
    }
    if (parts.length && badge.dataset.cs3labPath === path) {
      const text = parts.join(', ');
      setTitle(badge, text.charAt(0).toUpperCase() + text.slice(1));
    }
  } catch {
    badge.dataset.cs3labNamed = '';
  }
}
