import { MainAreaWidget } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';
import { createNbdimeMergeView } from 'nbdime/lib/common/mergeview';
import {
  createDirectStringDiffModel,
  NotebookDiffModel
} from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';

import { formatSize, getDiff } from './api';
import { errorMessage } from '../handler';
import type { DiffRequest, IDiffAnswer } from './api';
import { trans } from '../i18n';

export const DIFF_CLASS = 'cs3lab-DiffView';

/** Labels of the two sides of a diff. */
export interface IDiffSides {
  /** The left side (nbdime's base), e.g. "analysis.ipynb (original)". */
  base: string;
  /** The right side (nbdime's remote). */
  remote: string;
}

/**
 * A diff in nbdime's widgets: the notebook diff (NotebookDiffWidget), a text
 * diff (nbdime's merge view with one remote), or a note for binary files.
 * The content of a main-area tab.
 */
export class DiffView extends Panel {
  constructor(options: DiffView.IOptions) {
    super();
    this.addClass(DIFF_CLASS);
    this._rendermime = options.rendermime;
    this._request = options.request;
    this._answer = options.answer;
    this._sides = options.sides;
    const header = document.createElement('div');
    header.className = `${DIFF_CLASS}-header`;
    const sides = document.createElement('span');
    sides.className = `${DIFF_CLASS}-sides`;
    const base = document.createElement('span');
    base.className = `${DIFF_CLASS}-base`;
    base.textContent = options.sides.base;
    const arrow = document.createElement('span');
    arrow.textContent = ' ↔ ';
    const remote = document.createElement('span');
    remote.className = `${DIFF_CLASS}-remote`;
    remote.textContent = options.sides.remote;
    sides.append(base, arrow, remote);
    const hide = document.createElement('label');
    hide.className = `${DIFF_CLASS}-hideUnchanged`;
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = true;
    box.addEventListener('change', () =>
      this._scroller.toggleClass('jp-mod-hideUnchanged', box.checked)
    );
    hide.append(box, ' Hide unchanged cells');
    this._status = document.createElement('div');
    this._status.className = `${DIFF_CLASS}-status`;
    this._status.textContent = trans.__('Loading the changes…');
    header.append(sides, hide);
    const headerWidget = new Widget({ node: header });
    this.addWidget(headerWidget);
    this.addWidget(new Widget({ node: this._status }));
    this._scroller = new Panel();
    this._scroller.addClass('nbdime-root');
    this._scroller.addClass(`${DIFF_CLASS}-scroller`);
    this._scroller.addClass('jp-mod-hideUnchanged');
    this.addWidget(this._scroller);
    this._box = hide;
    this.ready = this._load();
  }

  /** Resolves when the diff is shown (or its error). */
  readonly ready: Promise<void>;

  private async _load(): Promise<void> {
    let answer: IDiffAnswer;
    try {
      answer = this._answer ?? (await getDiff(this._request!));
    } catch (error) {
      this._showStatus(`Could not compute the changes: ${errorMessage(error)}`);
      this.node.dataset.cs3labDiff = 'error';
      return;
    }
    await this.showAnswer(answer);
  }

  /** Show a diff answer of the server. */
  async showAnswer(answer: IDiffAnswer): Promise<void> {
    this.node.dataset.cs3labDiff = answer.type;
    if (answer.type === 'notebook') {
      this._box.hidden = false;
      if (answer.diff.length === 0) {
        this._showStatus('No changes: the two notebooks are the same.');
      } else {
        this._showStatus('');
      }
      const model = new NotebookDiffModel(answer.base, answer.diff);
      const widget = new NotebookDiffWidget({
        model,
        rendermime: this._rendermime
      });
      this._scroller.addWidget(widget);
      await widget.init();
    } else if (answer.type === 'text') {
      this._box.hidden = true;
      this._showStatus(
        answer.base === answer.remote
          ? 'No changes: the two files are the same.'
          : ''
      );
      const model = createDirectStringDiffModel(answer.base, answer.remote);
      const view = createNbdimeMergeView({
        remote: model,
        readOnly: true,
        collapseIdentical: 3
      });
      view.addClass(`${DIFF_CLASS}-text`);
      this._scroller.addWidget(view);
    } else {
      this._box.hidden = true;
      this._showStatus(
        answer.same
          ? `The two files are the same (${formatSize(answer.base_size)}).`
          : `These are binary files, which cannot be compared line by line: ` +
              `${this._sides.base} has ${formatSize(answer.base_size)}, ` +
              `${this._sides.remote} has ${formatSize(answer.remote_size)}.`
      );
    }
  }

  private _showStatus(text: string): void {
    this._status.textContent = text;
    this._status.hidden = !text;
  }

  private _rendermime: IRenderMimeRegistry;
  private _request?: DiffRequest;
  private _answer?: IDiffAnswer;
  private _sides: IDiffSides;
  private _scroller: Panel;
  private _status: HTMLDivElement;
  private _box: HTMLLabelElement;
}

export namespace DiffView {
  export interface IOptions {
    /** What to ask the server to compare ... */
    request?: DiffRequest;
    /** ... or a diff answer at hand (e.g. a two-way merge answer). */
    answer?: IDiffAnswer;
    sides: IDiffSides;
    rendermime: IRenderMimeRegistry;
  }
}

/** A main-area tab showing a diff. */
export function diffTab(
  options: DiffView.IOptions & { label?: string }
): MainAreaWidget<DiffView> {
  const content = new DiffView(options);
  const widget = new MainAreaWidget({ content, reveal: content.ready });
  widget.addClass(`${DIFF_CLASS}-tab`);
  widget.title.label =
    options.label ??
    `Changes: ${PathExt.basename(options.sides.base)} ↔ ${PathExt.basename(options.sides.remote)}`;
  widget.title.caption = `${options.sides.base} ↔ ${options.sides.remote}`;
  return widget;
}
