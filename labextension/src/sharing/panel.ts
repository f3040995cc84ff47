import { Widget } from '@lumino/widgets';

import {
  formatDate,
  granteeLabel,
  ILink,
  IOCMReceived,
  IOCMShare,
  IReceivedShare,
  IShare,
  Role,
  roleLabel,
  sharingAPI
} from './api';
import { errorMessage, errorStatus } from '../handler';
import { avatar, button, copyText, el } from './dom';
import { trans } from '../i18n';

/** What the panel needs from JupyterLab. */
/** A received share as one row of "Shared with me", whichever site it came from. */
interface IReceivedRow {
  attrs: Record<string, string>;
  name: string;
  owner: string; // for the avatar
  from: string; // who and where, as the row says it
  role: Role;
  state: string;
  isFolder: boolean;
  path: string | null; // in the file browser; null: not there
  outside: string; // where it is when it is not in the file browser
  setState: (state: 'accepted' | 'declined') => Promise<unknown>;
}

export interface ISharedPanelOptions {
  /** Show a path of the file browser (a file or folder). */
  open: (path: string, isFolder: boolean) => Promise<unknown>;
  /** Something changed what the file browser shows. */
  changed: () => void;
}

type Tab = 'with-me' | 'by-me';

/**
 * The "Shared" side panel: "Shared with me" (local and federated shares:
 * accept, decline, open) and "Shared by me" (shares with their roles, links).
 */
export class SharedPanel extends Widget {
  constructor(private _options: ISharedPanelOptions) {
    super();
    this.addClass('cs3lab-SharedPanel');
    this.id = 'cs3lab-shared-panel';
    this.title.caption = trans.__('Shared with me');
    const tabs = el('div', {
      class: 'cs3lab-SharedPanel-tabs',
      role: 'tablist'
    });
    for (const [tab, label] of [
      ['with-me', 'Shared with me'],
      ['by-me', 'Shared by me']
    ] as [Tab, string][]) {
      const node = el(
        'button',
        {
          class: 'cs3lab-SharedPanel-tab',
          role: 'tab',
          type: 'button',
          'data-tab': tab
        },
        label
      );
      node.addEventListener('click', () => {
        this._tab = tab;
        void this.refresh();
      });
      tabs.append(node);
    }
    const refresh = el(
      'button',
      {
        class: 'cs3lab-SharedPanel-refresh',
        type: 'button',
        title: trans.__('Refresh')
      },
      '⟳'
    );
    refresh.addEventListener('click', () => void this.refresh());
    this._body = el('div', { class: 'cs3lab-SharedPanel-body' });
    this._error = el('div', { class: 'cs3lab-Share-error', role: 'alert' });
    this._error.hidden = true;
    this.node.append(
      el('div', { class: 'cs3lab-SharedPanel-header' }, tabs, refresh),
      this._error,
      this._body
    );
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  /** Load the shown tab again. */
  async refresh(): Promise<void> {
    for (const tab of Array.from(
      this.node.querySelectorAll<HTMLElement>('[data-tab]')
    )) {
      const on = tab.dataset.tab === this._tab;
      tab.classList.toggle('jp-mod-current', on);
      tab.setAttribute('aria-selected', String(on));
    }
    this.node.dataset.tab = this._tab;
    this._showError('');
    try {
      if (this._tab === 'with-me') {
        await this._renderWithMe();
      } else {
        await this._renderByMe();
      }
    } catch (error) {
      this._showError(errorMessage(error));
    }
  }

  // -- shared with me ------------------------------------------------------------------

  private async _renderWithMe(): Promise<void> {
    // A site may have no shares between its own users (a federated site: 501) or no
    // federation: the other kind is still listed.
    const [local, ocm] = await Promise.all([
      sharingAPI
        .received()
        .catch(unlessUnsupported({ shares: [] as IReceivedShare[] })),
      sharingAPI.ocmReceived().catch(() => [] as IOCMReceived[])
    ]);
    const list = el('ul', {
      class: 'cs3lab-Share-list cs3lab-SharedPanel-received'
    });
    const order = { pending: 0, accepted: 1, declined: 2 } as Record<
      string,
      number
    >;
    const shares = [...local.shares].sort(
      (a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3)
    );
    for (const share of shares) {
      list.append(this._receivedRow(share));
    }
    for (const share of ocm) {
      list.append(this._ocmReceivedRow(share));
    }
    if (!shares.length && !ocm.length) {
      list.append(
        el(
          'li',
          { class: 'cs3lab-mod-empty' },
          'Nothing is shared with you yet.'
        )
      );
    }
    this._body.replaceChildren(list);
  }

  private _receivedRow(share: IReceivedShare): HTMLElement {
    const path = share.resource.path;
    return this._row({
      attrs: { 'data-share-id': share.id },
      name: share.resource.name || share.mount_point || share.id,
      owner: granteeLabel(share.owner),
      from: granteeLabel(share.owner),
      role: share.role,
      state: share.state,
      isFolder: share.resource.type !== 'file',
      path: path ?? null,
      outside:
        share.resource.cs3_path ||
        (share.mount_point ? `mounted as ${share.mount_point}` : ''),
      setState: state => sharingAPI.setReceivedState(share.id, state)
    });
  }

  private _ocmReceivedRow(share: IOCMReceived): HTMLElement {
    return this._row({
      attrs: { 'data-ocm-id': share.id },
      name: share.name,
      owner: share.owner_name || share.owner,
      from: `${share.owner_name || share.owner} at ${share.site}`,
      role: share.role,
      state: share.state,
      isFolder: share.type !== 'file',
      path: share.path,
      outside: `at the other institution (ocm/${share.id})`,
      setState: state => sharingAPI.ocmSetState(share.id, state)
    });
  }

  /** One received share (from this site or another): accept, decline, open. */
  private _row(row: IReceivedRow): HTMLElement {
    const actions = el('span', { class: 'cs3lab-SharedPanel-actions' });
    const set = (state: 'accepted' | 'declined') => async () => {
      try {
        await row.setState(state);
        await this.refresh();
        this._options.changed();
      } catch (error) {
        this._showError(errorMessage(error));
      }
    };
    const path = row.path;
    if (row.state !== 'accepted') {
      actions.append(button('Accept', set('accepted'), { accept: true }));
    } else if (path !== null) {
      actions.append(
        button('Open', () => this._options.open(path, row.isFolder), {
          accept: true,
          title: `Show ${path || 'it'} in the file browser`
        })
      );
    }
    if (row.state !== 'declined') {
      actions.append(
        button('Decline', set('declined'), {
          title:
            row.state === 'accepted'
              ? trans.__('No longer show it with your files')
              : undefined
        })
      );
    }
    let where = '';
    if (row.state === 'accepted') {
      where =
        path !== null
          ? `in your files: ${path || '/'}`
          : `outside your files${row.outside ? `: ${row.outside}` : ''}`;
    }
    return el(
      'li',
      {
        class: 'cs3lab-SharedPanel-item',
        'data-state': row.state,
        ...row.attrs
      },
      avatar(row.owner),
      el(
        'span',
        { class: 'cs3lab-Share-who' },
        el('span', { class: 'cs3lab-Share-name', title: row.name }, row.name),
        el(
          'span',
          { class: 'cs3lab-Share-detail' },
          `${row.isFolder ? 'folder' : 'file'} from ${row.from} · ${roleLabel(row.role)}`
        ),
        where ? el('span', { class: 'cs3lab-Share-detail' }, where) : null
      ),
      el(
        'span',
        { class: `cs3lab-SharedPanel-state cs3lab-mod-${row.state}` },
        row.state
      ),
      actions
    );
  }

  // -- shared by me --------------------------------------------------------------------

  private async _renderByMe(): Promise<void> {
    const [mine, ocm] = await Promise.all([
      sharingAPI
        .sharedByMe()
        .catch(
          unlessUnsupported({ shares: [] as IShare[], links: [] as ILink[] })
        ),
      sharingAPI.ocmShares().catch(() => [] as IOCMShare[])
    ]);
    const list = el('ul', {
      class: 'cs3lab-Share-list cs3lab-SharedPanel-mine'
    });
    for (const share of mine.shares) {
      list.append(this._mineRow(share));
    }
    for (const link of mine.links) {
      list.append(this._linkRow(link));
    }
    for (const share of ocm) {
      list.append(
        el(
          'li',
          { class: 'cs3lab-SharedPanel-item' },
          avatar(share.with_name || share.with),
          el(
            'span',
            { class: 'cs3lab-Share-who' },
            el('span', { class: 'cs3lab-Share-name' }, share.name),
            el(
              'span',
              { class: 'cs3lab-Share-detail' },
              `with ${share.with_name || share.with} at ${share.site} · ${roleLabel(share.role)}`
            )
          )
        )
      );
    }
    if (!mine.shares.length && !mine.links.length && !ocm.length) {
      list.append(
        el(
          'li',
          { class: 'cs3lab-mod-empty' },
          'You have not shared anything. Right-click a file: Share…'
        )
      );
    }
    this._body.replaceChildren(list);
  }

  private _resourceButton(
    path: string | null,
    name: string,
    isFolder: boolean
  ): HTMLElement {
    const label = name;
    if (path === null) {
      return el('span', { class: 'cs3lab-Share-name' }, label);
    }
    const link = el(
      'a',
      { class: 'cs3lab-Share-name', href: '#', title: `Show ${path}` },
      label
    );
    link.addEventListener('click', event => {
      event.preventDefault();
      void this._options.open(path, isFolder);
    });
    return link;
  }

  private _mineRow(share: IShare): HTMLElement {
    const name = share.resource.name || share.resource.path || share.id;
    const who = granteeLabel(share.grantee);
    return el(
      'li',
      { class: 'cs3lab-SharedPanel-item', 'data-share-id': share.id },
      avatar(who, share.grantee.type === 'group'),
      el(
        'span',
        { class: 'cs3lab-Share-who' },
        this._resourceButton(
          share.resource.path,
          name,
          share.resource.type !== 'file'
        ),
        el(
          'span',
          { class: 'cs3lab-Share-detail' },
          `with ${who} · ${roleLabel(share.role)}`
        )
      )
    );
  }

  private _linkRow(link: ILink): HTMLElement {
    const name = link.resource.name || link.resource.path || link.token;
    const facts = [
      roleLabel(link.role),
      link.password_protected ? 'password' : '',
      link.expiration ? `expires ${formatDate(link.expiration)}` : ''
    ]
      .filter(Boolean)
      .join(' · ');
    return el(
      'li',
      { class: 'cs3lab-SharedPanel-item', 'data-link-id': link.id },
      el('span', { class: 'cs3lab-Share-avatar cs3lab-mod-link' }),
      el(
        'span',
        { class: 'cs3lab-Share-who' },
        this._resourceButton(
          link.resource.path,
          name,
          link.resource.type !== 'file'
        ),
        el('span', { class: 'cs3lab-Share-detail' }, `public link · ${facts}`)
      ),
      button('Copy link', async () => {
        const ok = await copyText(link.url);
        if (!ok) {
          this._showError(`Copy it by hand: ${link.url}`);
        }
      })
    );
  }

  private _showError(text: string): void {
    this._error.textContent = text;
    this._error.hidden = !text;
  }

  private _tab: Tab = 'with-me';
  private _body: HTMLElement;
  private _error: HTMLElement;
}

/** A catch handler: `empty` when the site does not support the request (501), else rethrow. */
function unlessUnsupported<T>(empty: T): (error: unknown) => T {
  return error => {
    if (errorStatus(error) === 501) {
      return empty;
    }
    throw error;
  };
}
