import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import {
  errorMessage,
  errorStatus,
  formatDate,
  granteeLabel,
  IContact,
  IGroup,
  ILink,
  IOCMShare,
  IPerson,
  IShare,
  ROLE_LABELS,
  sharingAPI
} from './api';
import { avatar, button, copyText, el, roleSelect } from './dom';

const SEARCH_DELAY_MS = 250;

interface ICandidate {
  type: 'user' | 'group';
  name: string;
  label: string;
  detail: string;
}

/** What the dialog shares: a file or folder of the file browser. */
export interface IShareTarget {
  path: string;
  name: string;
  isFolder: boolean;
}

/**
 * The body of the "Share…" dialog: people and groups with roles, public
 * links, other institutions (OCM). Every change goes to the server at once.
 */
export class ShareWidget extends Widget {
  constructor(
    private _target: IShareTarget,
    private _onChange: () => void = () => undefined
  ) {
    super();
    this.addClass('cs3lab-Share');
    this._roles = _target.isFolder
      ? ['viewer', 'editor', 'uploader']
      : ['viewer', 'editor'];
    this.node.append(
      this._peopleSection(),
      this._linksSection(),
      this._ocmSection()
    );
    void this.refresh();
  }

  /**
   * Enter and Escape in the dialog's fields act on their own section (share, create a
   * link, accept an invitation) instead of closing the dialog: JupyterLab's Dialog takes
   * them in its capture phase, so they are routed here first, from the window's.
   */
  protected onAfterAttach(): void {
    window.addEventListener('keydown', this._routeKey, true);
  }

  protected onBeforeDetach(): void {
    window.removeEventListener('keydown', this._routeKey, true);
  }

  private _routeKey = (event: KeyboardEvent): void => {
    const target = event.target as HTMLElement | null;
    if (
      !target ||
      !this.node.contains(target) ||
      !(
        target instanceof HTMLInputElement ||
        target instanceof HTMLSelectElement
      )
    ) {
      return;
    }
    const handler = this._keys.get(target);
    if (event.key === 'Enter') {
      event.preventDefault();
      event.stopPropagation();
      void handler?.('Enter');
    } else if (event.key === 'Escape' && handler?.('Escape') === true) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  /** What Enter (and Escape, returning true when it used it) does in a field. */
  private _onKeys(
    field: HTMLElement,
    handler: (key: 'Enter' | 'Escape') => unknown
  ): void {
    this._keys.set(field, handler);
  }

  /** Load who has access and the links again. */
  async refresh(): Promise<void> {
    try {
      const access = await sharingAPI.access(this._target.path);
      this._renderAccess(access.shares, access.shares_available !== false);
      this._renderLinks(access.links, access.links_available !== false);
      this._say(this._peopleError, '');
    } catch (error) {
      this._say(this._peopleError, errorMessage(error));
    }
  }

  // -- people and groups ----------------------------------------------------------

  private _peopleSection(): HTMLElement {
    const input = el('input', {
      class: 'jp-mod-styled cs3lab-Share-search',
      type: 'text',
      placeholder: 'Add people or groups by name or e-mail',
      'aria-label': 'Search people and groups',
      autocomplete: 'off'
    });
    const role = roleSelect(this._roles, ROLE_LABELS, 'viewer', 'Role');
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
    this._onKeys(input, key => {
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
    const share = async (): Promise<void> => {
      const picked = this._picked;
      if (!picked) {
        this._say(
          this._peopleError,
          'Pick a person or group from the suggestions first.'
        );
        return;
      }
      try {
        await sharingAPI.share(
          this._target.path,
          { type: picked.type, name: picked.name },
          role.value
        );
        input.value = '';
        this._picked = null;
        this._say(this._peopleError, '');
        this._say(
          this._peopleInfo,
          `Shared with ${picked.label} (${role.value}).`
        );
        await this.refresh();
        this._onChange();
      } catch (error) {
        this._say(this._peopleError, errorMessage(error));
      }
    };
    this._peopleError = el('div', {
      class: 'cs3lab-Share-error',
      role: 'alert'
    });
    this._peopleInfo = el('div', { class: 'cs3lab-Share-info' });
    this._access = el('ul', {
      class: 'cs3lab-Share-list cs3lab-Share-access',
      'aria-label': 'Who has access'
    });
    return el(
      'section',
      { class: 'cs3lab-Share-section' },
      el('h3', {}, 'People and groups'),
      (this._addPeople = el(
        'div',
        { class: 'cs3lab-Share-row cs3lab-Share-add' },
        el('div', { class: 'cs3lab-Share-combo' }, input, suggestions),
        role,
        button('Share', share, { accept: true, cls: 'cs3lab-Share-submit' })
      )),
      this._peopleError,
      this._peopleInfo,
      el('h4', {}, 'Who has access'),
      this._access
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
        detail: `group${g.mail ? ' · ' + g.mail : ''}`
      }))
    ];
    list.replaceChildren();
    if (candidates.length === 0) {
      list.append(
        el('li', { class: 'cs3lab-mod-empty' }, `Nobody found for “${query}”`)
      );
    }
    for (const c of candidates) {
      const item = el(
        'li',
        { role: 'option', 'data-name': c.name, 'data-type': c.type },
        avatar(c.label, c.type === 'group'),
        el(
          'span',
          { class: 'cs3lab-Share-who' },
          el('span', { class: 'cs3lab-Share-name' }, c.label),
          el('span', { class: 'cs3lab-Share-detail' }, c.detail)
        )
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

  private _renderAccess(shares: IShare[], available = true): void {
    this._access.replaceChildren();
    this._addPeople.hidden = !available;
    if (!available) {
      this._access.append(
        el(
          'li',
          { class: 'cs3lab-mod-empty' },
          'This site has no shares between its users: share with other institutions below.'
        )
      );
      return;
    }
    if (shares.length === 0) {
      this._access.append(
        el('li', { class: 'cs3lab-mod-empty' }, 'Only you have access.')
      );
    }
    for (const share of shares) {
      const name = granteeLabel(share.grantee);
      const group = share.grantee.type === 'group';
      const role = roleSelect(
        this._roles,
        ROLE_LABELS,
        share.role,
        `Role of ${name}`
      );
      role.addEventListener('change', async () => {
        try {
          await sharingAPI.updateShare(share.id, role.value);
          this._say(this._peopleInfo, `${name} now: ${role.value}.`);
          this._onChange();
        } catch (error) {
          role.value = share.role;
          this._say(this._peopleError, errorMessage(error));
        }
      });
      const remove = button(
        'Remove',
        async () => {
          try {
            await sharingAPI.revoke(share.id);
            this._say(this._peopleInfo, `${name} no longer has access.`);
            await this.refresh();
            this._onChange();
          } catch (error) {
            this._say(this._peopleError, errorMessage(error));
          }
        },
        { warn: true, title: `Remove ${name}'s access` }
      );
      const detail = group
        ? 'group'
        : (share.grantee as IPerson).mail ||
          (share.grantee as IPerson).username;
      this._access.append(
        el(
          'li',
          {
            'data-grantee': group
              ? (share.grantee as IGroup).name
              : (share.grantee as IPerson).username
          },
          avatar(name, group),
          el(
            'span',
            { class: 'cs3lab-Share-who' },
            el('span', { class: 'cs3lab-Share-name' }, name),
            el('span', { class: 'cs3lab-Share-detail' }, detail)
          ),
          role,
          remove
        )
      );
    }
  }

  // -- public links ----------------------------------------------------------------

  private _linksSection(): HTMLElement {
    const role = roleSelect(this._roles, ROLE_LABELS, 'viewer', 'Link role');
    const password = el('input', {
      class: 'jp-mod-styled cs3lab-Share-password',
      type: 'password',
      placeholder: 'Password (optional)',
      'aria-label': 'Link password',
      autocomplete: 'new-password'
    });
    const expiry = el('input', {
      class: 'jp-mod-styled cs3lab-Share-expiry',
      type: 'date',
      'aria-label': 'Link expires on',
      title: 'Expires on (optional)',
      min: tomorrow()
    });
    const create = async (): Promise<void> => {
      try {
        const link = await sharingAPI.createLink({
          path: this._target.path,
          role: role.value,
          ...(password.value ? { password: password.value } : {}),
          ...(expiry.value ? { expiration: expiry.value } : {})
        });
        password.value = '';
        expiry.value = '';
        this._say(this._linksError, '');
        this._say(
          this._linksInfo,
          `Link created${link.password_protected ? ' (with a password)' : ''}.`
        );
        await this.refresh();
        this._onChange();
      } catch (error) {
        this._say(this._linksError, errorMessage(error));
      }
    };
    this._onKeys(password, key => key === 'Enter' && create());
    this._onKeys(expiry, key => key === 'Enter' && create());
    this._linksError = el('div', {
      class: 'cs3lab-Share-error',
      role: 'alert'
    });
    this._linksInfo = el('div', { class: 'cs3lab-Share-info' });
    this._links = el('ul', {
      class: 'cs3lab-Share-list cs3lab-Share-links',
      'aria-label': 'Public links'
    });
    return el(
      'section',
      { class: 'cs3lab-Share-section' },
      el('h3', {}, 'Public links'),
      el(
        'p',
        { class: 'cs3lab-Share-hint' },
        'Anyone with the link can open it, without an account.'
      ),
      (this._newLink = el(
        'div',
        { class: 'cs3lab-Share-row cs3lab-Share-newLink' },
        role,
        password,
        expiry,
        button('Create link', create, {
          accept: true,
          cls: 'cs3lab-Share-createLink'
        })
      )),
      this._linksError,
      this._linksInfo,
      this._links
    );
  }

  private _renderLinks(links: ILink[], available = true): void {
    this._links.replaceChildren();
    this._newLink.hidden = !available;
    if (!available) {
      this._links.append(
        el(
          'li',
          { class: 'cs3lab-mod-empty' },
          'This site has no public links.'
        )
      );
      return;
    }
    if (links.length === 0) {
      this._links.append(el('li', { class: 'cs3lab-mod-empty' }, 'No links.'));
    }
    for (const link of links) {
      this._links.append(this._linkRow(link));
    }
  }

  private _linkRow(link: ILink): HTMLElement {
    const url = el('input', {
      class: 'jp-mod-styled cs3lab-Share-url',
      type: 'text',
      readonly: true,
      'aria-label': 'Link address'
    });
    url.value = link.url;
    url.addEventListener('focus', () => url.select());
    const update = async (
      body: Parameters<typeof sharingAPI.updateLink>[1],
      done: string
    ): Promise<void> => {
      try {
        await sharingAPI.updateLink(link.id, body);
        this._say(this._linksError, '');
        this._say(this._linksInfo, done);
        await this.refresh();
        this._onChange();
      } catch (error) {
        this._say(this._linksError, errorMessage(error));
        await this.refresh();
      }
    };
    const role = roleSelect(this._roles, ROLE_LABELS, link.role, 'Link role');
    role.addEventListener('change', () =>
      update({ role: role.value }, `The link's role is now ${role.value}.`)
    );
    const expiry = el('input', {
      class: 'jp-mod-styled cs3lab-Share-expiry',
      type: 'date',
      'aria-label': 'Link expires on',
      title: 'Expires on (empty: never)',
      min: tomorrow()
    });
    expiry.value = link.expiration ? link.expiration.slice(0, 10) : '';
    expiry.addEventListener('change', () =>
      update(
        { expiration: expiry.value || null },
        expiry.value
          ? `The link expires on ${formatDate(expiry.value)}.`
          : 'The link never expires.'
      )
    );
    const copy = button(
      'Copy link',
      async () => {
        const ok = await copyText(link.url);
        url.select();
        this._say(
          this._linksInfo,
          ok
            ? 'Link copied to the clipboard.'
            : 'Press Ctrl+C to copy the selected link.'
        );
      },
      { accept: true, cls: 'cs3lab-Share-copy' }
    );
    const passwordButton = link.password_protected
      ? button(
          'Remove password',
          () => update({ password: null }, 'The password is removed.'),
          {
            title: 'Remove the password'
          }
        )
      : button(
          'Set password',
          async () => {
            const result = await showDialog({
              title: 'Password of the link',
              body: new PasswordBody(),
              buttons: [
                Dialog.cancelButton(),
                Dialog.okButton({ label: 'Set' })
              ]
            });
            if (result.button.accept && result.value) {
              await update({ password: result.value }, 'The password is set.');
            }
          },
          { title: 'Protect the link with a password' }
        );
    const remove = button(
      'Delete',
      async () => {
        try {
          await sharingAPI.deleteLink(link.id);
          this._say(this._linksInfo, 'Link deleted.');
          await this.refresh();
          this._onChange();
        } catch (error) {
          this._say(this._linksError, errorMessage(error));
        }
      },
      { warn: true, title: 'Delete the link' }
    );
    const facts = [
      link.password_protected ? 'password protected' : 'no password',
      link.expiration
        ? `expires ${formatDate(link.expiration)}`
        : 'never expires'
    ].join(' · ');
    return el(
      'li',
      { class: 'cs3lab-Share-link', 'data-link-id': link.id },
      el('div', { class: 'cs3lab-Share-row' }, url, copy),
      el(
        'div',
        { class: 'cs3lab-Share-row' },
        role,
        expiry,
        el('span', { class: 'cs3lab-Share-detail cs3lab-Share-facts' }, facts),
        passwordButton,
        remove
      )
    );
  }

  // -- other institutions (OCM) ----------------------------------------------------

  private _ocmSection(): HTMLElement {
    const contact = el('select', {
      class: 'jp-mod-styled cs3lab-Share-contact',
      'aria-label': 'Federated contact'
    });
    const role = roleSelect(
      ['viewer', 'editor'],
      ROLE_LABELS,
      'viewer',
      'Federated role'
    );
    this._ocmError = el('div', { class: 'cs3lab-Share-error', role: 'alert' });
    this._ocmInfo = el('div', { class: 'cs3lab-Share-info' });
    this._ocmList = el('ul', {
      class: 'cs3lab-Share-list',
      'aria-label': 'Federated shares'
    });
    const invitation = el('input', {
      class: 'jp-mod-styled cs3lab-Share-invitation',
      type: 'text',
      readonly: true,
      'aria-label': 'Invitation to send'
    });
    const invitationRow = el(
      'div',
      { class: 'cs3lab-Share-row' },
      invitation,
      button('Copy', async () => {
        const ok = await copyText(invitation.value);
        invitation.select();
        this._say(
          this._ocmInfo,
          ok ? 'Invitation copied.' : 'Press Ctrl+C to copy it.'
        );
      })
    );
    invitationRow.hidden = true;
    const paste = el('input', {
      class: 'jp-mod-styled cs3lab-Share-accept',
      type: 'text',
      placeholder: 'Paste an invitation: token@institution',
      'aria-label': 'Invitation received'
    });
    const loadContacts = async (): Promise<void> => {
      try {
        const contacts = await sharingAPI.contacts();
        this._fillContacts(contact, contacts);
        await this._refreshOCM();
      } catch (error) {
        this._ocmUnavailable(error);
      }
    };
    const share = async (): Promise<void> => {
      if (!contact.value) {
        this._say(
          this._ocmError,
          'Accept an invitation or invite someone first.'
        );
        return;
      }
      try {
        await sharingAPI.ocmShare(this._target.path, contact.value, role.value);
        this._say(this._ocmError, '');
        this._say(
          this._ocmInfo,
          `Shared with ${contact.selectedOptions[0]?.textContent ?? contact.value}.`
        );
        await this._refreshOCM();
      } catch (error) {
        this._say(this._ocmError, errorMessage(error));
      }
    };
    let acceptInvitation = async (): Promise<void> => undefined;
    const section = el(
      'section',
      { class: 'cs3lab-Share-section cs3lab-Share-ocm' },
      el('h3', {}, 'Other institutions'),
      el(
        'div',
        { class: 'cs3lab-Share-row' },
        contact,
        role,
        button('Share', share, { accept: true })
      ),
      this._ocmError,
      this._ocmInfo,
      this._ocmList,
      el(
        'div',
        { class: 'cs3lab-Share-row' },
        button('Invite someone from another institution', async () => {
          try {
            const made = await sharingAPI.invite(
              `Invitation for ${this._target.name}`
            );
            invitation.value = made.invitation;
            invitationRow.hidden = false;
            this._say(
              this._ocmInfo,
              'Send this invitation to your colleague; they accept it at their institution.'
            );
          } catch (error) {
            this._say(this._ocmError, errorMessage(error));
          }
        })
      ),
      invitationRow,
      el(
        'div',
        { class: 'cs3lab-Share-row' },
        paste,
        button(
          'Accept an invitation',
          (acceptInvitation = async () => {
            if (!paste.value.trim()) {
              this._say(
                this._ocmError,
                'Paste the invitation you were sent first.'
              );
              return;
            }
            try {
              const added = await sharingAPI.acceptInvitation(
                paste.value.trim()
              );
              paste.value = '';
              this._say(this._ocmError, '');
              this._say(
                this._ocmInfo,
                `${added.display_name || added.id} (${added.site}) is now a contact.`
              );
              await loadContacts();
              contact.value = added.id;
            } catch (error) {
              this._say(this._ocmError, errorMessage(error));
            }
          })
        )
      )
    );
    this._onKeys(paste, key => key === 'Enter' && acceptInvitation());
    this._onKeys(contact, key => key === 'Enter' && share());
    void loadContacts();
    return section;
  }

  private _fillContacts(select: HTMLSelectElement, contacts: IContact[]): void {
    select.replaceChildren();
    if (contacts.length === 0) {
      select.append(
        el('option', { value: '' }, 'No contacts yet: invite someone')
      );
    }
    for (const c of contacts) {
      select.append(
        el('option', { value: c.id }, `${c.display_name || c.id} (${c.site})`)
      );
    }
  }

  private async _refreshOCM(): Promise<void> {
    const shares = await sharingAPI.ocmShares();
    const mine = shares.filter(
      (s: IOCMShare) =>
        s.name === this._target.name ||
        (s.cs3_path ?? '').endsWith(`/${this._target.path}`)
    );
    this._ocmList.replaceChildren();
    for (const s of mine) {
      this._ocmList.append(
        el(
          'li',
          {},
          avatar(s.with_name || s.with),
          el(
            'span',
            { class: 'cs3lab-Share-who' },
            el('span', { class: 'cs3lab-Share-name' }, s.with_name || s.with),
            el(
              'span',
              { class: 'cs3lab-Share-detail' },
              `${s.site} · ${ROLE_LABELS[s.role] ?? s.role}`
            )
          ),
          button(
            'Remove',
            async () => {
              try {
                await sharingAPI.ocmRevoke(s.id);
                await this._refreshOCM();
              } catch (error) {
                this._say(this._ocmError, errorMessage(error));
              }
            },
            { warn: true }
          )
        )
      );
    }
  }

  private _ocmUnavailable(error: unknown): void {
    const section = this.node.querySelector<HTMLElement>('.cs3lab-Share-ocm');
    if (!section) {
      return;
    }
    const status = errorStatus(error);
    if (status === 404 || status === 501) {
      section.replaceChildren(
        el('h3', {}, 'Other institutions'),
        el(
          'p',
          { class: 'cs3lab-Share-hint' },
          'Sharing with other institutions (ScienceMesh / OCM) is not set up on this site.'
        )
      );
    } else {
      this._say(this._ocmError, errorMessage(error));
    }
  }

  private _say(node: HTMLElement, text: string): void {
    node.textContent = text;
    node.hidden = !text;
  }

  private _roles: string[];
  private _picked: ICandidate | null = null;
  private _access!: HTMLUListElement;
  private _links!: HTMLUListElement;
  private _newLink!: HTMLElement;
  private _addPeople!: HTMLElement;
  private _ocmList!: HTMLUListElement;
  private _peopleError!: HTMLElement;
  private _peopleInfo!: HTMLElement;
  private _linksError!: HTMLElement;
  private _linksInfo!: HTMLElement;
  private _ocmError!: HTMLElement;
  private _ocmInfo!: HTMLElement;
  private _keys = new Map<HTMLElement, (key: 'Enter' | 'Escape') => unknown>();
}

/** A password field as a dialog body. */
class PasswordBody extends Widget {
  constructor() {
    super({
      node: el('input', {
        type: 'password',
        class: 'jp-mod-styled',
        'aria-label': 'Password'
      })
    });
  }
  getValue(): string {
    return (this.node as HTMLInputElement).value;
  }
}

function tomorrow(): string {
  return new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
}

/** Open the "Share…" dialog of a file or folder. */
export async function openShareDialog(
  target: IShareTarget,
  onChange: () => void
): Promise<void> {
  const body = new ShareWidget(target, onChange);
  const dialog = new Dialog({
    title: `Share “${target.name}”`,
    body,
    buttons: [Dialog.okButton({ label: 'Done' })],
    hasClose: true
  });
  dialog.addClass('cs3lab-ShareDialog');
  await dialog.launch();
}
