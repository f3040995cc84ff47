import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import type {
  DocumentRegistry,
  IDocumentWidget
} from '@jupyterlab/docregistry';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { Contents } from '@jupyterlab/services';
import { ITranslator } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';

// Widget extensions are made synchronously with each document widget, and the
// lock must be taken as the document opens: these load with the plugin.
/* eslint-disable jupyter/prefer-lazy-imports */
import { releaseOnUnload } from './api';
import { ReadOnlyCommandGuard } from './commands';
import { makeCopy } from './copy';
import { DocumentLockView } from './document';
import { LockSession } from './session';
import { useTranslator } from '../i18n';
/* eslint-enable jupyter/prefer-lazy-imports */

/** The document widget factories whose documents take the lock. */
export const LOCKED_FACTORIES = ['Notebook', 'Editor'];

/**
 * This tab's lock sessions, one per open document context of the default
 * drive; releases them when the page goes away.
 */
export class LockSessions {
  constructor(private _contents: Contents.IManager) {
    window.addEventListener('pagehide', this._onPageHide);
    window.addEventListener('pageshow', this._onPageShow);
  }

  /** The session of `context`, started on first use; null outside the default drive. */
  sessionFor(context: DocumentRegistry.Context): LockSession | null {
    if (this._contents.driveName(context.path)) {
      return null;
    }
    let session = this._sessions.get(context);
    if (!session) {
      session = new LockSession({
        context,
        contents: this._contents,
        path: context.path
      });
      this._sessions.set(context, session);
      context.disposed.connect(() => this._sessions.delete(context));
      void session.start();
    }
    return session;
  }

  private _onPageHide = (): void => {
    const held: string[] = [];
    for (const session of this._sessions.values()) {
      session.detachForUnload();
      if (session.mode === 'editing') {
        held.push(session.path);
      }
    }
    releaseOnUnload(held);
  };

  private _onPageShow = (event: PageTransitionEvent): void => {
    if (event.persisted) {
      for (const session of this._sessions.values()) {
        void session.resume();
      }
    }
  };

  private _sessions = new Map<DocumentRegistry.Context, LockSession>();
}

/**
 * The widget extension for notebooks and file editors: the lock session of
 * the document, and a read-only view with the banner for each widget.
 */
class LockWidgetExtension implements DocumentRegistry.IWidgetExtension<
  IDocumentWidget,
  DocumentRegistry.IModel
> {
  constructor(
    private _app: JupyterFrontEnd,
    private _sessions: LockSessions
  ) {}

  createNew(
    widget: IDocumentWidget,
    context: DocumentRegistry.Context
  ): IDisposable | void {
    const session = this._sessions.sessionFor(context);
    if (!session) {
      return;
    }
    const contents = this._app.serviceManager.contents;
    return new DocumentLockView({
      widget,
      session,
      makeCopy: () =>
        makeCopy(context, contents, path =>
          this._app.commands.execute('docmanager:open', { path })
        )
    });
  }
}

/**
 * Write locks on opened documents: the lock is taken on open, refreshed,
 * released on close; a document someone else edits is read-only, with a
 * banner (who, since when, copy, request edit), follows the holder's saves,
 * and offers "Edit now" when the lock is free. The holder is asked to hand over.
 * The commands that would change a read-only notebook are disabled.
 */
export const locksPlugin: JupyterFrontEndPlugin<void> = {
  id: 'cs3lab:locks',
  description:
    'Takes the write lock of opened notebooks and files; read-only views of documents others edit.',
  autoStart: true,
  optional: [INotebookTracker, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker | null,
    translator: ITranslator | null
  ): void => {
    useTranslator(translator);
    if (notebooks) {
      new ReadOnlyCommandGuard(app.commands, notebooks);
    }
    const sessions = new LockSessions(app.serviceManager.contents);
    const extension = new LockWidgetExtension(app, sessions);
    for (const factory of LOCKED_FACTORIES) {
      app.docRegistry.addWidgetExtension(factory, extension);
    }
  }
};
