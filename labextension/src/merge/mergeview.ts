import {
  Dialog,
  MainAreaWidget,
  Notification,
  showDialog,
  ToolbarButton
} from '@jupyterlab/apputils';
import { CodeEditor, CodeEditorWrapper } from '@jupyterlab/codeeditor';
import type { IEditorServices } from '@jupyterlab/codeeditor';
import { PathExt } from '@jupyterlab/coreutils';
import type * as nbformat from '@jupyterlab/nbformat';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';
import { NotebookMergeModel } from 'nbdime/lib/merge/model';
import { NotebookMergeWidget } from 'nbdime/lib/merge/widget';

import { choose, getCopyInfo, merge, resolve } from './api';
import { errorMessage, errorStatus } from '../handler';
import type { IMergeAnswer } from './api';
import { diffTab } from './diffview';
import { trans } from '../i18n';

export const MERGE_CLASS = 'cs3lab-MergeView';

/** What the merge flow needs from the application. */
export interface IMergeContext {
  rendermime: IRenderMimeRegistry;
  editorServices: IEditorServices;
  /** Add a widget to the main area (and activate it). */
  addTab: (widget: Widget) => void;
  /** After a merge was written into `original`: reload it where it is shown. */
  merged: (original: string) => Promise<void> | void;
}

/**
 * "Merge into original": ask which original the server finds for the copy and
 * let the user confirm it (a copy's origin is written by whoever made the
 * copy), then merge into that one: a clean merge is written at once
 * (notification with the automatic resolutions), conflicts open the merge
 * view, a binary file asks keep original / take copy.
 */
export async function mergeIntoOriginal(
  copy: string,
  context: IMergeContext
): Promise<IMergeAnswer | null> {
  let answer: IMergeAnswer;
  try {
    const { original } = await getCopyInfo(copy);
    if (!(await confirmOriginal(copy, original.path, original.moved_from))) {
      return null;
    }
    answer = await merge(copy, original.path);
  } catch (error) {
    notifyError(`Could not merge ${copy}`, error);
    return null;
  }
  await handleAnswer(copy, answer, context);
  return answer;
}

/** "Merge <copy> into <original>?": true when the user confirms. */
async function confirmOriginal(
  copy: string,
  original: string,
  movedFrom?: string
): Promise<boolean> {
  const moved = movedFrom ? ` (moved from ${movedFrom})` : '';
  const result = await showDialog({
    title: trans.__('Merge into original?'),
    body: `Merge ${copy} into ${original}${moved}?`,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: trans.__('Merge') })
    ]
  });
  return result.button.accept;
}

/** Show what the server answered to a merge or a resolve. */
export async function handleAnswer(
  copy: string,
  answer: IMergeAnswer,
  context: IMergeContext,
  view?: MergeView
): Promise<void> {
  const original = answer.original?.path ?? '';
  switch (answer.status) {
    case 'merged':
      view?.dispose();
      notifyMerged(copy, answer);
      await context.merged(original);
      return;
    case 'conflicts':
    case 'clean': {
      const message = answer.remerged
        ? `${original} was changed by someone else while you merged: your ` +
          'resolution was merged again with its new content. Check and save again.'
        : '';
      if (view && !view.isDisposed) {
        await view.load(answer, message);
      } else {
        const widget = new MergeView({ copy, answer, context, message });
        const tab = mergeTab(widget, copy, original);
        context.addTab(tab);
        await widget.ready;
      }
      return;
    }
    case 'choose':
      view?.dispose();
      await chooseBinary(copy, answer, context);
      return;
    case 'two-way':
      view?.dispose();
      Notification.warning(
        answer.message ?? 'A three-way merge is not possible.',
        {
          autoClose: false
        }
      );
      context.addTab(
        diffTab({
          answer: answer as any,
          sides: { base: `${original} (original)`, remote: `${copy} (copy)` },
          rendermime: context.rendermime,
          label: `Changes: ${PathExt.basename(copy)}`
        })
      );
      return;
  }
}

function notifyMerged(copy: string, answer: IMergeAnswer): void {
  const original = answer.original?.path ?? '';
  if (answer.written === false) {
    Notification.info(
      answer.message ?? `Nothing to write: ${original} is kept as it is.`,
      { autoClose: 8000 }
    );
    return;
  }
  const summary = answer.summary ?? [];
  let text = `Merged ${copy} into ${original}.`;
  if (summary.length) {
    text +=
      ` ${summary.length} automatic resolution${summary.length > 1 ? 's' : ''}: ` +
      summary.map(r => r.message).join('; ');
  }
  Notification.success(text, { autoClose: summary.length ? false : 8000 });
}

/** An error of the server as a notification with its message. */
export function notifyError(what: string, error: unknown): void {
  const status = errorStatus(error);
  const prefix =
    status === 423 ? `${what}: the original is locked. ` : `${what}: `;
  Notification.error(prefix + errorMessage(error), { autoClose: false });
}

async function chooseBinary(
  copy: string,
  answer: IMergeAnswer,
  context: IMergeContext
): Promise<void> {
  const original = answer.original?.path ?? '';
  const result = await showDialog({
    title: trans.__('Keep the original or take the copy?'),
    body:
      answer.message ??
      `${PathExt.basename(copy)} cannot be merged line by line.`,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({
        label: trans.__('Keep original'),
        displayType: 'default',
        actions: ['original']
      }),
      Dialog.okButton({
        label: trans.__('Take copy'),
        displayType: 'warn',
        actions: ['copy']
      })
    ]
  });
  if (!result.button.accept) {
    return;
  }
  const choice = result.button.actions.includes('copy') ? 'copy' : 'original';
  try {
    const next = await choose(copy, original, choice, answer.original?.etag);
    if (next.status === 'merged') {
      Notification.success(
        choice === 'copy'
          ? `${original} now has the content of ${copy}.`
          : `${original} is kept as it is.`,
        { autoClose: 8000 }
      );
      await context.merged(original);
    } else {
      await handleAnswer(copy, next, context);
    }
  } catch (error) {
    notifyError(`Could not save into ${original}`, error);
  }
}

/**
 * The merge view of a merge with conflicts: nbdime's NotebookMergeWidget for
 * notebooks, an editor with the conflict markers for text files. "Save merge"
 * sends the resolution with the etag of the original it was merged against.
 */
export class MergeView extends Panel {
  constructor(options: MergeView.IOptions) {
    super();
    this.addClass(MERGE_CLASS);
    this._copy = options.copy;
    this._context = options.context;
    this._message = document.createElement('div');
    this._message.className = `${MERGE_CLASS}-message`;
    this.addWidget(new Widget({ node: this._message }));
    this._scroller = new Panel();
    this._scroller.addClass(`${MERGE_CLASS}-scroller`);
    this.addWidget(this._scroller);
    this.ready = this.load(options.answer, options.message ?? '');
  }

  /** Resolves when the first answer is shown. */
  readonly ready: Promise<void>;

  /** The answer shown now. */
  get answer(): IMergeAnswer | null {
    return this._answer;
  }

  /** Show a merge answer with conflicts (again, after a re-merge). */
  async load(answer: IMergeAnswer, message: string): Promise<void> {
    this._answer = answer;
    for (const child of [...this._scroller.widgets]) {
      child.dispose();
    }
    this._notebook = null;
    this._editor = null;
    const original = answer.original?.path ?? '';
    const n = answer.conflicts ?? 0;
    const what =
      answer.status === 'clean'
        ? 'merges cleanly'
        : `has ${n} conflict${n === 1 ? '' : 's'}`;
    let text =
      `Merging ${this._copy} (copy) into ${original} (original): ${what}. ` +
      'Nothing is written until you save the merge.';
    if (answer.summary?.length) {
      text +=
        ' Resolved automatically: ' +
        answer.summary.map(r => r.message).join('; ') +
        '.';
    }
    this._message.textContent = message ? `${message} ${text}` : text;
    this._message.classList.toggle(`${MERGE_CLASS}-mod-warning`, !!message);
    this.node.dataset.cs3labMerge = answer.type;
    if (answer.type === 'notebook') {
      this._scroller.addClass('nbdime-root');
      const model = new NotebookMergeModel(
        answer.base as nbformat.INotebookContent,
        answer.merge_decisions ?? []
      );
      const widget = new NotebookMergeWidget({
        model,
        rendermime: this._context.rendermime,
        showBase: false
      });
      this._scroller.addWidget(widget);
      this._notebook = widget;
      await widget.init();
    } else {
      this._scroller.removeClass('nbdime-root');
      const model = new CodeEditor.Model();
      model.sharedModel.setSource(answer.merged ?? '');
      model.mimeType =
        this._context.editorServices.mimeTypeService.getMimeTypeByFilePath(
          original
        );
      const editor = new CodeEditorWrapper({
        factory: this._context.editorServices.factoryService.newDocumentEditor,
        model
      });
      editor.addClass(`${MERGE_CLASS}-editor`);
      this._scroller.addWidget(editor);
      this._editor = editor;
    }
  }

  /** The resolved content: the notebook nbdime's model describes, or the edited text. */
  resolved(): unknown {
    if (this._notebook) {
      return this._notebook.model.serialize();
    }
    return this._editor?.model.sharedModel.getSource() ?? '';
  }

  /** "Save merge". */
  async save(): Promise<void> {
    const answer = this._answer;
    if (!answer || this._saving) {
      return;
    }
    const content = this.resolved();
    if (
      typeof content === 'string' &&
      /^(<{7}|={7}|>{7})( |$)/m.test(content)
    ) {
      const result = await showDialog({
        title: trans.__('Conflict markers left'),
        body: trans.__(
          'The text still has conflict markers (<<<<<<<, =======, >>>>>>>). Save it anyway?'
        ),
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: trans.__('Save') })
        ]
      });
      if (!result.button.accept) {
        return;
      }
    }
    this._saving = true;
    const original = answer.original?.path ?? '';
    try {
      const next = await resolve(
        this._copy,
        original,
        answer.original.etag,
        content
      );
      await handleAnswer(this._copy, next, this._context, this);
    } catch (error) {
      notifyError(`Could not save the merge into ${original}`, error);
    } finally {
      this._saving = false;
    }
  }

  private _copy: string;
  private _context: IMergeContext;
  private _answer: IMergeAnswer | null = null;
  private _message: HTMLDivElement;
  private _scroller: Panel;
  private _notebook: NotebookMergeWidget | null = null;
  private _editor: CodeEditorWrapper | null = null;
  private _saving = false;
}

export namespace MergeView {
  export interface IOptions {
    copy: string;
    answer: IMergeAnswer;
    context: IMergeContext;
    message?: string;
  }
}

/** The main-area tab of a merge view, with "Save merge" and "Cancel". */
function mergeTab(
  content: MergeView,
  copy: string,
  original: string
): MainAreaWidget<MergeView> {
  const widget = new MainAreaWidget({ content, reveal: content.ready });
  widget.addClass(`${MERGE_CLASS}-tab`);
  widget.title.label = `Merge: ${PathExt.basename(copy)} → ${PathExt.basename(original)}`;
  widget.title.caption = `Merge ${copy} into ${original}`;
  widget.title.closable = true;
  const save = new ToolbarButton({
    className: `${MERGE_CLASS}-save`,
    label: trans.__('Save merge'),
    tooltip: `Write the resolved merge into ${original}`,
    onClick: () => void content.save()
  });
  save.node.dataset.cs3labAction = 'save-merge';
  const cancel = new ToolbarButton({
    className: `${MERGE_CLASS}-cancel`,
    label: trans.__('Cancel'),
    tooltip: trans.__('Close the merge view; nothing is written'),
    onClick: () => widget.close()
  });
  cancel.node.dataset.cs3labAction = 'cancel-merge';
  widget.toolbar.addItem('save-merge', save);
  widget.toolbar.addItem('cancel-merge', cancel);
  // Closing the content closes the tab.
  content.disposed.connect(() => {
    if (!widget.isDisposed) {
      widget.dispose();
    }
  });
  return widget;
}
