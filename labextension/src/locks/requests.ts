import { Notification } from '@jupyterlab/apputils';

import { trans } from '../i18n';
import { holderLabel, IEditRequest } from './api';

/**
 * The holder's notices of requests to edit, one per pending request, each
 * with "Hand over" and "Decline"; a request answered or withdrawn loses its
 * notice.
 */
export class RequestNotices {
  constructor(
    private _answer: {
      name(): string;
      handOver(request: IEditRequest): Promise<void>;
      decline(request: IEditRequest): Promise<void>;
    }
  ) {}

  /** Show these requests (none when this tab does not hold the lock). */
  show(requests: IEditRequest[]): void {
    const pending = new Set<string>();
    for (const request of requests) {
      const key = `${request.requester.username}@${request.at}`;
      pending.add(key);
      if (!this._notes.has(key)) {
        this._notes.set(key, this._notify(request));
      }
    }
    for (const [key, id] of this._notes) {
      if (!pending.has(key)) {
        Notification.dismiss(id);
        this._notes.delete(key);
      }
    }
  }

  dispose(): void {
    this.show([]);
  }

  private _notify(request: IEditRequest): string {
    const who = holderLabel(request.requester);
    const name = this._answer.name();
    return Notification.emit(
      trans.__('%1 asks to edit %2', who, name),
      'info',
      {
        autoClose: false,
        actions: [
          {
            label: trans.__('Hand over'),
            caption: trans.__(
              'Save %1, then let %2 edit it; you keep reading it',
              name,
              who
            ),
            displayType: 'accent',
            callback: () => void this._answer.handOver(request)
          },
          {
            label: trans.__('Decline'),
            caption: trans.__('Keep editing; %1 is told', who),
            displayType: 'default',
            callback: () => void this._answer.decline(request)
          }
        ]
      }
    );
  }

  private _notes = new Map<string, string>();
}
