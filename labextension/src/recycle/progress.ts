import { Notification } from '@jupyterlab/apputils';
import { ServiceManager } from '@jupyterlab/services';

import { formatSize } from './api';

/** The server's event schema for folder copies (folder_copy.py). */
export const COPY_SCHEMA = 'https://cs3lab.github.io/events/folder-copy';

interface ICopyEvent {
  id: string;
  state: 'running' | 'done' | 'failed';
  source: string;
  target: string;
  files_done: number;
  files_total: number;
  bytes_done: number;
  bytes_total: number;
  message?: string;
}

function progressText(event: ICopyEvent): string {
  return (
    `Copying ${event.source} → ${event.target}: ${event.files_done}/` +
    `${event.files_total} files, ${formatSize(event.bytes_done)} of ` +
    `${formatSize(event.bytes_total)}`
  );
}

/**
 * A notification with progress for folder copies that take a while (the
 * server sends progress only after half a second): updated while the copy
 * runs, then "Copied …" or the failure. JupyterLab itself reports a failed
 * paste in a dialog, so a failure only closes the notification.
 */
export function showCopyProgress(services: ServiceManager.IManager): void {
  const shown = new Map<string, string>(); // copy id -> notification id
  services.events.stream.connect((_, emission) => {
    if (emission.schema_id !== COPY_SCHEMA) {
      return;
    }
    const event = emission as unknown as ICopyEvent;
    const id = shown.get(event.id);
    if (event.state === 'running') {
      const progress =
        event.bytes_total > 0 ? event.bytes_done / event.bytes_total : 0;
      if (id === undefined) {
        shown.set(
          event.id,
          Notification.emit(progressText(event), 'in-progress', {
            autoClose: false,
            progress
          })
        );
      } else {
        Notification.update({ id, message: progressText(event), progress });
      }
      return;
    }
    if (id === undefined) {
      return; // a quick copy: nothing was shown
    }
    shown.delete(event.id);
    if (event.state === 'done') {
      Notification.update({
        id,
        message: `Copied ${event.source} to ${event.target} (${event.files_total} files, ${formatSize(event.bytes_total)})`,
        type: 'success',
        autoClose: 5000
      });
    } else {
      Notification.dismiss(id);
    }
  });
}
