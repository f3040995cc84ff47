import { trans } from '../i18n';
import {
  granteeLabel,
  IGroup,
  IPerson,
  IShare,
  ROLE_LABELS,
  sharingAPI
} from './api';
import { avatar, button, el, empty, roleSelect, who } from './dom';
import { ISectionHost, ShareSection } from './section';

const SEARCH_DELAY_MS = 250;

/** A person or group offered while typing a name. */
interface ICandidate {
  type: 'user' | 'group';
  name: string;
  label: string;
  detail: string;
}

/** "People and groups": find someone, share with a role, change or remove access. */
export class PeopleSection extends ShareSection {
  constructor(host: ISectionHost) {
    super(host);
    const input = el('input', {
      class: 'jp-mod-styled cs3lab-Share-search',
      type: 'text',
      placeholder: trans.__('Add people or groups by name or e-mail'),
      'aria-label': trans.__('Search people and groups'),
      autocomplete: 'off'
    });
    const role = roleSelect(
      host.roles,
      ROLE_LABELS,
      'viewer',
      trans.__('Role')
    );
    const suggestions = el('ul', {
      class: 'cs3lab-Share-suggestions',
      role: 'listbox'
    });
    suggestions.hidden = true;
    let timer = 0;
    input.addEventListener('input', () => {
      this._picked = null;
      window.clearTimeout(timer);
      const query = input.value.trim();
      if (query.length < 1) {
        suggestions.hidden = true;
        return;
      }
      timer = window.setTimeout(
        () => void this._search(query, input, suggestions),
        SEARCH_DELAY_MS
      );
    });
    const share = async (): Promise<void> => {
      const picked = this._picked;
      if (!picked) {
        this.fail(
          trans.__('Pick a person or group from the suggestions first.')
        );
        return;
      }
      try {
        await sharingAPI.share(
          host.target.path,
          { type: picked.type, name: picked.name },
          role.value
        );
        input.value = '';
        this._picked = null;
        this.done(trans.__('Shared with %1 (%2).', picked.label, role.value));
        await host.refresh();
        host.changed();
      } catch (error) {
        this.fail(error);
      }
    };
    host.onKeys(input, key => {
      if (key === 'Escape') {
        const open = !suggestions.hidden;
        suggestions.hidden = true;
        return open;
      }
      const first = suggestions.querySelector<HTMLElement>('li[data-name]');
      if (!this._picked && first && !suggestions.hidden) {
        first.click();
      } else {
        void share();
      }
    });
    this._add = el(
      'div',
      { class: 'cs3lab-Share-row cs3lab-Share-add' },
      el('div', { class: 'cs3lab-Share-combo' }, input, suggestions),
      role,
      button(trans.__('Share'), share, {
        accept: true,
        cls: 'cs3lab-Share-submit'
      })
    );
    this._access = el('ul', {
      class: 'cs3lab-Share-list cs3lab-Share-access',
      'aria-label': trans.__('Who has access')
    });
    this.node = el(
      'section',
      { class: 'cs3lab-Share-section' },
      el('h3', {}, trans.__('People and groups')),
      this._add,
      this.error,
      this.info,
      el('h4', {}, trans.__('Who has access')),
      this._access
    );
  }

  readonly node: HTMLElement;

  /** Show who has access; a site without shares between its users says so. */
  render(shares: IShare[], available: boolean): void {
    this._access.replaceChildren();
    this._add.hidden = !available;
    if (!available) {
      this._access.append(
        empty(
          trans.__(
            'This site has no shares between its users: share with other institutions below.'
          )
        )
      );
      return;
    }
    if (shares.length === 0) {
      this._access.append(empty(trans.__('Only you have access.')));
    }
    for (const share of shares) {
      this._access.append(this._row(share));
    }
  }

  private _row(share: IShare): HTMLElement {
    const name = granteeLabel(share.grantee);
    const group = share.grantee.type === 'group';
    const role = roleSelect(
      this.host.roles,
      ROLE_LABELS,
      share.role,
      trans.__('Role of %1', name)
    );
    role.addEventListener('change', async () => {
      try {
        await sharingAPI.updateShare(share.id, role.value);
        this.tell(trans.__('%1 now: %2.', name, role.value));
        this.host.changed();
      } catch (error) {
        role.value = share.role;
        this.fail(error);
      }
    });
    const remove = button(
      trans.__('Remove'),
      async () => {
        try {
          await sharingAPI.revoke(share.id);
          this.tell(trans.__('%1 no longer has access.', name));
          await this.host.refresh();
          this.host.changed();
        } catch (error) {
          this.fail(error);
        }
      },
      { warn: true, title: trans.__("Remove %1's access", name) }
    );
    const person = share.grantee as IPerson;
    const detail = group ? trans.__('group') : person.mail || person.username;
    return el(
      'li',
      {
        'data-grantee': group ? (share.grantee as IGroup).name : person.username
      },
      avatar(name, group),
      who(name, detail),
      role,
      remove
    );
  }

  private async _search(
    query: string,
    input: HTMLInputElement,
    list: HTMLUListElement
  ): Promise<void> {
    const [users, groups] = await Promise.all([
      sharingAPI.findUsers(query).catch(() => ({ users: [] as IPerson[] })),
      sharingAPI.findGroups(query).catch(() => ({ groups: [] as IGroup[] }))
    ]);
    if (input.value.trim() !== query) {
      return; // typed on meanwhile
    }
    const candidates: ICandidate[] = [
      ...users.users.map(u => ({
        type: 'user' as const,
        name: u.username,
        label: u.display_name || u.username,
        detail: u.mail || u.username
      })),
      ...groups.groups.map(g => ({
        type: 'group' as const,
        name: g.name,
        label: g.display_name || g.name,
        detail: g.mail ? trans.__('group · %1', g.mail) : trans.__('group')
      }))
    ];
    list.replaceChildren();
    if (candidates.length === 0) {
      list.append(empty(trans.__('Nobody found for “%1”', query)));
    }
    for (const c of candidates) {
      const item = el(
        'li',
        { role: 'option', 'data-name': c.name, 'data-type': c.type },
        avatar(c.label, c.type === 'group'),
        who(c.label, c.detail)
      );
      item.addEventListener('mousedown', event => event.preventDefault());
      item.addEventListener('click', () => {
        this._picked = c;
        input.value = c.label;
        list.hidden = true;
        input.focus();
      });
      list.append(item);
    }
    list.hidden = false;
  }

  private _picked: ICandidate | null = null;
  private _add: HTMLElement;
  private _access: HTMLUListElement;
}
