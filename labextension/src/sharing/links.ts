import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { trans } from '../i18n';
import { formatDate, ILink, ROLE_LABELS, sharingAPI } from './api';
import { button, copyText, el, empty, roleSelect } from './dom';
import { ISectionHost, ShareSection } from './section';

type LinkChange = Parameters<typeof sharingAPI.updateLink>[1];

/** "Public links": make a link (role, password, expiry), change or delete one. */
export class LinksSection extends ShareSection {
  constructor(host: ISectionHost) {
    super(host);
    const role = roleSelect(
      host.roles,
      ROLE_LABELS,
      'viewer',
      trans.__('Link role')
    );
    const password = el('input', {
      class: 'jp-mod-styled cs3lab-Share-password',
      type: 'password',
      placeholder: trans.__('Password (optional)'),
      'aria-label': trans.__('Link password'),
      autocomplete: 'new-password'
    });
    const expiry = expiryField(trans.__('Expires on (optional)'));
    const create = async (): Promise<void> => {
      try {
        const link = await sharingAPI.createLink({
          path: host.target.path,
          role: role.value,
          ...(password.value ? { password: password.value } : {}),
          ...(expiry.value ? { expiration: expiry.value } : {})
        });
        password.value = '';
        expiry.value = '';
        this.done(
          link.password_protected
            ? trans.__('Link created (with a password).')
            : trans.__('Link created.')
        );
        await host.refresh();
        host.changed();
      } catch (error) {
        this.fail(error);
      }
    };
    host.onKeys(password, key => key === 'Enter' && create());
    host.onKeys(expiry, key => key === 'Enter' && create());
    this._new = el(
      'div',
      { class: 'cs3lab-Share-row cs3lab-Share-newLink' },
      role,
      password,
      expiry,
      button(trans.__('Create link'), create, {
        accept: true,
        cls: 'cs3lab-Share-createLink'
      })
    );
    this._links = el('ul', {
      class: 'cs3lab-Share-list cs3lab-Share-links',
      'aria-label': trans.__('Public links')
    });
    this.node = el(
      'section',
      { class: 'cs3lab-Share-section' },
      el('h3', {}, trans.__('Public links')),
      el(
        'p',
        { class: 'cs3lab-Share-hint' },
        trans.__('Anyone with the link can open it, without an account.')
      ),
      this._new,
      this.error,
      this.info,
      this._links
    );
  }

  readonly node: HTMLElement;

  /** Show the links; a site without public links says so. */
  render(links: ILink[], available: boolean): void {
    this._links.replaceChildren();
    this._new.hidden = !available;
    if (!available) {
      this._links.append(empty(trans.__('This site has no public links.')));
      return;
    }
    if (links.length === 0) {
      this._links.append(empty(trans.__('No links.')));
    }
    for (const link of links) {
      this._links.append(this._row(link));
    }
  }

  private _row(link: ILink): HTMLElement {
    const url = el('input', {
      class: 'jp-mod-styled cs3lab-Share-url',
      type: 'text',
      readonly: true,
      'aria-label': trans.__('Link address')
    });
    url.value = link.url;
    url.addEventListener('focus', () => url.select());
    const update = (body: LinkChange, done: string) =>
      this._update(link, body, done);
    const role = roleSelect(
      this.host.roles,
      ROLE_LABELS,
      link.role,
      trans.__('Link role')
    );
    role.addEventListener('change', () =>
      update(
        { role: role.value },
        trans.__("The link's role is now %1.", role.value)
      )
    );
    const expiry = expiryField(trans.__('Expires on (empty: never)'));
    expiry.value = link.expiration ? link.expiration.slice(0, 10) : '';
    expiry.addEventListener('change', () =>
      update(
        { expiration: expiry.value || null },
        expiry.value
          ? trans.__('The link expires on %1.', formatDate(expiry.value))
          : trans.__('The link never expires.')
      )
    );
    const copy = button(
      trans.__('Copy link'),
      async () => {
        const ok = await copyText(link.url);
        url.select();
        this.tell(
          ok
            ? trans.__('Link copied to the clipboard.')
            : trans.__('Press Ctrl+C to copy the selected link.')
        );
      },
      { accept: true, cls: 'cs3lab-Share-copy' }
    );
    const remove = button(
      trans.__('Delete'),
      async () => {
        try {
          await sharingAPI.deleteLink(link.id);
          this.tell(trans.__('Link deleted.'));
          await this.host.refresh();
          this.host.changed();
        } catch (error) {
          this.fail(error);
        }
      },
      { warn: true, title: trans.__('Delete the link') }
    );
    const facts = [
      link.password_protected
        ? trans.__('password protected')
        : trans.__('no password'),
      link.expiration
        ? trans.__('expires %1', formatDate(link.expiration))
        : trans.__('never expires')
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
        this._passwordButton(link, update),
        remove
      )
    );
  }

  private _passwordButton(
    link: ILink,
    update: (body: LinkChange, done: string) => Promise<void>
  ): HTMLElement {
    if (link.password_protected) {
      return button(
        trans.__('Remove password'),
        () => update({ password: null }, trans.__('The password is removed.')),
        { title: trans.__('Remove the password') }
      );
    }
    return button(
      trans.__('Set password'),
      async () => {
        const result = await showDialog({
          title: trans.__('Password of the link'),
          body: new PasswordBody(),
          buttons: [
            Dialog.cancelButton(),
            Dialog.okButton({ label: trans.__('Set') })
          ]
        });
        if (result.button.accept && result.value) {
          await update(
            { password: result.value },
            trans.__('The password is set.')
          );
        }
      },
      { title: trans.__('Protect the link with a password') }
    );
  }

  private async _update(
    link: ILink,
    body: LinkChange,
    done: string
  ): Promise<void> {
    try {
      await sharingAPI.updateLink(link.id, body);
      this.done(done);
      await this.host.refresh();
      this.host.changed();
    } catch (error) {
      this.fail(error);
      await this.host.refresh();
    }
  }

  private _new: HTMLElement;
  private _links: HTMLUListElement;
}

/** A date field for a link's expiry, from tomorrow on. */
function expiryField(title: string): HTMLInputElement {
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  return el('input', {
    class: 'jp-mod-styled cs3lab-Share-expiry',
    type: 'date',
    'aria-label': trans.__('Link expires on'),
    title,
    min: tomorrow
  });
}

/** A password field as a dialog body. */
class PasswordBody extends Widget {
  constructor() {
    super({
      node: el('input', {
        type: 'password',
        class: 'jp-mod-styled',
        'aria-label': trans.__('Password')
      })
    });
  }

  getValue(): string {
    return (this.node as HTMLInputElement).value;
  }
}
