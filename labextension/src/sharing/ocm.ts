import { trans } from '../i18n';
import { IContact, IOCMShare, ROLE_LABELS, sharingAPI } from './api';
import { errorStatus } from '../handler';
import { avatar, button, copyText, el, roleSelect, who } from './dom';
import { ISectionHost, ShareSection } from './section';

/**
 * "Other institutions" (OCM): share with a contact at another site, invite
 * someone, accept an invitation; a site without OCM says so.
 */
export class OcmSection extends ShareSection {
  constructor(host: ISectionHost) {
    super(host);
    this._contact = el('select', {
      class: 'jp-mod-styled cs3lab-Share-contact',
      'aria-label': trans.__('Federated contact')
    });
    this._role = roleSelectFederated();
    this._shares = el('ul', {
      class: 'cs3lab-Share-list',
      'aria-label': trans.__('Federated shares')
    });
    const paste = el('input', {
      class: 'jp-mod-styled cs3lab-Share-accept',
      type: 'text',
      placeholder: trans.__('Paste an invitation: token@institution'),
      'aria-label': trans.__('Invitation received')
    });
    const accept = () => this._accept(paste);
    this.node = el(
      'section',
      { class: 'cs3lab-Share-section cs3lab-Share-ocm' },
      el('h3', {}, trans.__('Other institutions')),
      el(
        'div',
        { class: 'cs3lab-Share-row' },
        this._contact,
        this._role,
        button(trans.__('Share'), () => this._share(), { accept: true })
      ),
      this.error,
      this.info,
      this._shares,
      ...this._inviteRows(),
      el(
        'div',
        { class: 'cs3lab-Share-row' },
        paste,
        button(trans.__('Accept an invitation'), accept)
      )
    );
    host.onKeys(paste, key => key === 'Enter' && accept());
    host.onKeys(this._contact, key => key === 'Enter' && this._share());
    void this._load();
  }

  readonly node: HTMLElement;

  /** "Invite someone…" and the invitation to copy once made. */
  private _inviteRows(): HTMLElement[] {
    const invitation = el('input', {
      class: 'jp-mod-styled cs3lab-Share-invitation',
      type: 'text',
      readonly: true,
      'aria-label': trans.__('Invitation to send')
    });
    const made = el(
      'div',
      { class: 'cs3lab-Share-row' },
      invitation,
      button(trans.__('Copy'), async () => {
        const ok = await copyText(invitation.value);
        invitation.select();
        this.tell(
          ok
            ? trans.__('Invitation copied.')
            : trans.__('Press Ctrl+C to copy it.')
        );
      })
    );
    made.hidden = true;
    const invite = button(
      trans.__('Invite someone from another institution'),
      async () => {
        try {
          const answer = await sharingAPI.invite(
            trans.__('Invitation for %1', this.host.target.name)
          );
          invitation.value = answer.invitation;
          made.hidden = false;
          this.tell(
            trans.__(
              'Send this invitation to your colleague; they accept it at their institution.'
            )
          );
        } catch (error) {
          this.fail(error);
        }
      }
    );
    return [el('div', { class: 'cs3lab-Share-row' }, invite), made];
  }

  private async _share(): Promise<void> {
    const contact = this._contact;
    if (!contact.value) {
      this.fail(trans.__('Accept an invitation or invite someone first.'));
      return;
    }
    try {
      await sharingAPI.ocmShare(
        this.host.target.path,
        contact.value,
        this._role.value
      );
      this.done(
        trans.__(
          'Shared with %1.',
          contact.selectedOptions[0]?.textContent ?? contact.value
        )
      );
      await this._refresh();
    } catch (error) {
      this.fail(error);
    }
  }

  private async _accept(paste: HTMLInputElement): Promise<void> {
    const invitation = paste.value.trim();
    if (!invitation) {
      this.fail(trans.__('Paste the invitation you were sent first.'));
      return;
    }
    try {
      const added = await sharingAPI.acceptInvitation(invitation);
      paste.value = '';
      this.done(
        trans.__(
          '%1 (%2) is now a contact.',
          added.display_name || added.id,
          added.site
        )
      );
      await this._load();
      this._contact.value = added.id;
    } catch (error) {
      this.fail(error);
    }
  }

  /** Load the contacts, then the federated shares of the target. */
  private async _load(): Promise<void> {
    try {
      this._fillContacts(await sharingAPI.contacts());
      await this._refresh();
    } catch (error) {
      this._unavailable(error);
    }
  }

  private _fillContacts(contacts: IContact[]): void {
    const select = this._contact;
    select.replaceChildren();
    if (contacts.length === 0) {
      select.append(
        el('option', { value: '' }, trans.__('No contacts yet: invite someone'))
      );
    }
    for (const c of contacts) {
      select.append(
        el('option', { value: c.id }, `${c.display_name || c.id} (${c.site})`)
      );
    }
  }

  private async _refresh(): Promise<void> {
    const target = this.host.target;
    const shares = await sharingAPI.ocmShares();
    const mine = shares.filter(
      (s: IOCMShare) =>
        s.name === target.name || (s.cs3_path ?? '').endsWith(`/${target.path}`)
    );
    this._shares.replaceChildren(...mine.map(s => this._row(s)));
  }

  private _row(share: IOCMShare): HTMLElement {
    const name = share.with_name || share.with;
    return el(
      'li',
      {},
      avatar(name),
      who(name, `${share.site} · ${ROLE_LABELS[share.role] ?? share.role}`),
      button(
        trans.__('Remove'),
        async () => {
          try {
            await sharingAPI.ocmRevoke(share.id);
            await this._refresh();
          } catch (error) {
            this.fail(error);
          }
        },
        { warn: true }
      )
    );
  }

  private _unavailable(error: unknown): void {
    const status = errorStatus(error);
    if (status === 404 || status === 501) {
      this.node.replaceChildren(
        el('h3', {}, trans.__('Other institutions')),
        el(
          'p',
          { class: 'cs3lab-Share-hint' },
          trans.__(
            'Sharing with other institutions (ScienceMesh / OCM) is not set up on this site.'
          )
        )
      );
    } else {
      this.fail(error);
    }
  }

  private _contact: HTMLSelectElement;
  private _role: HTMLSelectElement;
  private _shares: HTMLUListElement;
}

/** Federated shares are read or write: no uploader role across sites. */
function roleSelectFederated(): HTMLSelectElement {
  return roleSelect(
    ['viewer', 'editor'],
    ROLE_LABELS,
    'viewer',
    trans.__('Federated role')
  );
}
