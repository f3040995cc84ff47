import { Notification } from '@jupyterlab/apputils';

import { CS3APIError } from './handler';
import { trans } from './i18n';

/**
 * The place to sign in again that the server named in a 401 (a JupyterHub's
 * login, coming back to this JupyterLab), or null.
 */
export function signInUrl(error: unknown): string | null {
  if (!(error instanceof CS3APIError) || error.response.status !== 401) {
    return null;
  }
  const url = error.body.sign_in_url;
  return typeof url === 'string' && url ? url : null;
}

/**
 * Tells the user, once until the session works again, that the site no longer
 * accepts their sign-in, with a "Sign in again" link that opens the Hub's
 * login in a new tab: the open documents stay as they are, unsaved changes
 * included, and save again once signed in.
 */
export class SignInNotice {
  /**
   * Show the notice for `error` if it asks to sign in again; true if it does.
   */
  show(error: unknown): boolean {
    const url = signInUrl(error);
    if (url === null) {
      return false;
    }
    if (this._id === null) {
      const message =
        `${(error as CS3APIError).message}. ` +
        'Your open documents and unsaved changes stay here: sign in again, ' +
        'then save.';
      this._id = Notification.warning(message, {
        autoClose: false,
        actions: [
          {
            label: trans.__('Sign in again'),
            caption: trans.__('Sign in in a new tab; come back here to save'),
            displayType: 'accent',
            callback: event => {
              event.preventDefault();
              window.open(url, '_blank', 'noopener');
            }
          }
        ]
      });
    }
    return true;
  }

  /**
   * The session works again: take the notice away.
   */
  clear(): void {
    if (this._id !== null) {
      Notification.dismiss(this._id);
      this._id = null;
    }
  }

  private _id: string | null = null;
}
