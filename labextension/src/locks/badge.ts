import type { BadgeProvider } from '../badges';
import { formatTime, holderLabel, IContentsLock } from './api';

export const BADGE_CLASS = 'cs3lab-LockBadge';

/**
 * The lock badge provider of the file browser's BadgeRenderer: a lock on every
 * entry whose listing model carries a `lock` (cs3lab puts each child's lock
 * into the listing). The holder's name is in the badge's tooltip; one's own
 * locks look different.
 */
export const lockBadge: BadgeProvider = (node, model) =>
  updateBadge(node, (model as { lock?: IContentsLock | null }).lock);

/** Put, update or remove the lock badge of one file browser entry. */
export function updateBadge(
  node: HTMLElement,
  lock: IContentsLock | null | undefined
): void {
  const nameColumn = node.querySelector('.jp-DirListing-itemName') ?? node;
  let badge = nameColumn.querySelector<HTMLElement>(`.${BADGE_CLASS}`);
  if (!lock) {
    badge?.remove();
    node.classList.remove('cs3lab-mod-locked');
    return;
  }
  if (!badge) {
    badge = document.createElement('span');
    badge.className = BADGE_CLASS;
    badge.setAttribute('role', 'img');
    nameColumn.appendChild(badge);
  }
  node.classList.add('cs3lab-mod-locked');
  const mine = lock.mine;
  badge.classList.toggle(`${BADGE_CLASS}-mine`, mine);
  badge.dataset.cs3labHolder = lock.holder.username;
  const who = holderLabel(lock.holder);
  const app =
    lock.holder.app && lock.holder.app !== 'cs3lab'
      ? ` in ${lock.holder.app}`
      : '';
  const title = mine
    ? lock.this_session
      ? `Locked by you (editing it here) since ${formatTime(lock.since)}`
      : `Locked by you in another session since ${formatTime(lock.since)}`
    : `Locked by ${who}${app} since ${formatTime(lock.since)}`;
  badge.title = title;
  badge.setAttribute('aria-label', title);
}
