/**
 * One repeating task at a time (a heartbeat or a poll): the next run is
 * scheduled when the previous one has finished, and starting another task or
 * stopping ends the current one, even in the middle of its run.
 */
export class Ticker {
  start(tick: () => Promise<void>, interval: number): void {
    this.stop();
    const generation = this._generation;
    const loop = async () => {
      if (generation !== this._generation) {
        return;
      }
      await tick();
      if (generation === this._generation) {
        this._timer = window.setTimeout(loop, interval);
      }
    };
    this._timer = window.setTimeout(loop, interval);
  }

  stop(): void {
    this._generation++;
    clearTimeout(this._timer);
  }

  private _timer = 0;
  private _generation = 0;
}
