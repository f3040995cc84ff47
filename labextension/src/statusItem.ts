import { ServerConnection } from '@jupyterlab/services';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import {
  fetchQuota,
  fetchSession,
  humanSize,
  IQuota,
  ISessionInfo
} from './session';
import { SignInNotice } from './signin';

/**
 * What the status item currently shows.
 */
export type SessionState = 'loading' | 'connected' | 'error';

const ERROR_CLASS = 'cs3lab-StatusItem-error';
const QUOTA_WARNING_CLASS = 'cs3lab-StatusItem-quotaWarning';
const QUOTA_WARNING_SHARE = 0.9; // warn when this share of the quota is used
const RECHECK_HINT = 'Click to check again.';

/**
 * A status bar item showing which CS3 user and site this server is connected
 * to. It re-checks periodically and on click, so it recovers by itself when
 * the site comes back.
 */
export class SessionStatusItem extends Widget {
  constructor(options: SessionStatusItem.IOptions = {}) {
    super();
    this._settings = options.serverSettings;
    this.addClass('cs3lab-StatusItem');
    this.addClass('jp-mod-highlighted');
    this.node.setAttribute('role', 'button');
    this.node.tabIndex = 0;
    this._label = document.createElement('span');
    this._label.className = 'jp-StatusBar-TextItem cs3lab-StatusItem-label';
    this.node.appendChild(this._label);
    this._render('loading', 'CS3: connecting…', 'Checking the CS3 session…');

    this._poll = new Poll({
      name: 'cs3lab:session',
      factory: () => this.check(),
      frequency: {
        interval: options.interval ?? 30 * 1000,
        backoff: false,
        max: 5 * 60 * 1000
      },
      standby: 'when-hidden'
    });
  }

  /**
   * The state shown: loading, connected or error.
   */
  get state(): SessionState {
    return this._state;
  }

  /**
   * Ask the server for the session now and show the answer.
   */
  async check(): Promise<void> {
    const request = ++this._requests;
    try {
      const [info, quota] = await Promise.all([
        fetchSession(this._settings),
        // Quota is extra: a site that does not report it still shows the session.
        fetchQuota('', this._settings).catch(() => null)
      ]);
      if (request === this._requests) {
        this._signIn.clear();
        this._renderSession(info, quota);
      }
    } catch (error) {
      if (request === this._requests) {
        this._renderError(error);
      }
    }
  }

  /**
   * Re-check at once (on click, Enter or Space).
   */
  refresh(): void {
    this._render('loading', 'CS3: checking…', 'Checking the CS3 session…');
    void this._poll.refresh();
  }

  handleEvent(event: Event): void {
    if (event.type === 'click') {
      this.refresh();
    } else if (event.type === 'keydown') {
      const key = (event as KeyboardEvent).key;
      if (key === 'Enter' || key === ' ') {
        event.preventDefault();
        this.refresh();
      }
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    super.dispose();
  }

  protected onAfterAttach(): void {
    this.node.addEventListener('click', this);
    this.node.addEventListener('keydown', this);
  }

  protected onBeforeDetach(): void {
    this.node.removeEventListener('click', this);
    this.node.removeEventListener('keydown', this);
  }

  private _renderSession(info: ISessionInfo, quota: IQuota | null): void {
    const { user, site, home } = info;
    const name = user.display_name || user.username;
    const lines = [
      `CS3 user: ${user.username}` +
        (user.display_name ? ` (${user.display_name})` : ''),
      `Site: ${site.name}`,
      `Gateway: ${site.gateway}`,
      `Home: ${home}`
    ];
    let label = `CS3: ${name} @ ${site.name}`;
    let warn = false;
    if (quota && !quota.reported) {
      lines.push('Quota: no quota reported');
    } else if (quota?.total && quota.used !== null) {
      label += ` · ${humanSize(quota.used)} of ${humanSize(quota.total)}`;
      const left =
        quota.remaining !== null ? `, ${humanSize(quota.remaining)} left` : '';
      lines.push(
        `Quota: ${humanSize(quota.used)} used of ${humanSize(quota.total)}${left}`
      );
      warn = quota.used >= QUOTA_WARNING_SHARE * quota.total;
    } else if (quota && quota.used !== null) {
      lines.push(`Used: ${humanSize(quota.used)} (no quota set)`);
    }
    lines.push(RECHECK_HINT);
    this._render('connected', label, lines.join('\n'));
    this.node.classList.toggle(QUOTA_WARNING_CLASS, warn);
  }

  private _renderError(error: unknown): void {
    let label = 'CS3: error';
    let message = error instanceof Error ? error.message : String(error);
    if (this._signIn.show(error)) {
      label = 'CS3: sign in again';
    } else if (error instanceof ServerConnection.ResponseError) {
      label = Private.labelForStatus(error.response.status);
    } else if (error instanceof ServerConnection.NetworkError) {
      label = 'CS3: Jupyter server unreachable';
      message = `The Jupyter server cannot be reached: ${message}`;
    }
    this._render('error', label, `${message}\n${RECHECK_HINT}`);
  }

  private _render(state: SessionState, label: string, title: string): void {
    this._state = state;
    this.node.dataset.cs3labState = state;
    this.node.classList.toggle(ERROR_CLASS, state === 'error');
    this.node.title = title;
    this._label.textContent = label;
  }

  private _settings: ServerConnection.ISettings | undefined;
  private _signIn = new SignInNotice();
  private _label: HTMLSpanElement;
  private _poll: Poll;
  private _requests = 0;
  private _state: SessionState = 'loading';
}

export namespace SessionStatusItem {
  export interface IOptions {
    /**
     * Settings of the Jupyter server to ask; defaults to the page's.
     */
    serverSettings?: ServerConnection.ISettings;
    /**
     * Milliseconds between two checks (default 30 s).
     */
    interval?: number;
  }
}

namespace Private {
  /**
   * A short label for an error status of `GET /cs3lab/api/session`.
   */
  export function labelForStatus(status: number): string {
    switch (status) {
      case 401:
        return 'CS3: credentials rejected';
      case 403:
        return 'CS3: access denied';
      case 404:
        return 'CS3: server extension not available';
      case 503:
        return 'CS3: site unreachable';
      default:
        return `CS3: error (${status})`;
    }
  }
}
