"""What the demo (scripts/demo.py) writes into alice's home: a welcome notebook, a README, and
an analysis folder (a week of weather-station readings, the notebook that sums them up, and a
calibration notebook that bob copies and edits in the demo)."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

WELCOME_INTRO = """\
# Welcome to cs3lab

The file browser on the left is not this machine's disk: it is **alice's home on a CS3
site** (here `site-a`, a real [Reva](https://reva.link) server the demo started on this
machine). cs3lab is a JupyterLab extension whose contents manager talks to the site's CS3
gateway over gRPC and moves file bytes over the site's HTTP data gateway, so what you see is
the same storage a CERNBox or ScienceMesh web interface shows.

Things to try:

* **Save** this notebook (Ctrl+S): the new content is uploaded to the CS3 site.
* Save it a few times, then *File → Revert Notebook to Checkpoint*: the checkpoints are the
  file versions the storage kept.
* Create, rename, copy and delete files in the file browser. Deleted files go to the site's
  recycle bin.
* The status bar at the bottom shows who you are signed in as, and on which site.
"""

WELCOME_KERNEL = """\
## Where does code run?

The kernel runs on the machine of the Jupyter server, but it sees the same files as the file
browser: cs3lab mounts your CS3 home for its kernels and starts each kernel in the folder of
its notebook, so `open("README.md")` or `pd.read_csv("data.csv")` read CS3 files by relative
path, and what the kernel writes appears in the file browser (as a new version of the file).
`cs3://` URLs (an fsspec filesystem) reach the same files from any library that takes them.
"""

WELCOME_CODE = """\
import os
import platform

print(f"Python {platform.python_version()} on {platform.node()}")
print("working directory:", os.getcwd())
print("files here:", sorted(os.listdir(".")))
"""

SUMMARY_INTRO = """\
# Station summary

`measurements.csv` next to this notebook holds a week of readings from three weather
stations. The kernel works in this notebook's folder of your CS3 storage, so pandas reads the
file by its relative name, and the plot saved below appears beside it in the file browser.
"""

STATIONS = {
    "north": [(4.1, 81), (3.6, 84), (5.2, 77), (6.0, 72), (4.8, 79), (3.9, 86), (4.4, 80)],
    "river": [(6.3, 88), (5.9, 90), (7.1, 85), (7.8, 80), (6.6, 84), (6.0, 91), (6.4, 87)],
    "ridge": [(1.2, 70), (0.4, 74), (2.3, 66), (3.1, 61), (1.9, 68), (0.8, 75), (1.5, 69)],
}


def measurements_csv() -> str:
    rows = ["date,station,temperature_c,humidity_pct"]
    for day in range(7):
        for station, readings in STATIONS.items():
            temperature, humidity = readings[day]
            rows.append(f"2026-03-{day + 2:02d},{station},{temperature},{humidity}")
    return "\n".join(rows) + "\n"


SUMMARY_CODE = """\
import matplotlib.pyplot as plt
import pandas as pd

df = pd.read_csv("measurements.csv", parse_dates=["date"])
print(df.groupby("station").temperature_c.agg(["count", "mean", "min", "max"]).round(1))

fig, ax = plt.subplots(figsize=(7, 3.5))
for station, readings in df.groupby("station"):
    ax.plot(readings.date, readings.temperature_c, marker="o", label=station)
ax.set_ylabel("temperature (°C)")
ax.set_title("Daily temperature by station")
ax.legend()
fig.autofmt_xdate()
fig.savefig("temperature.png", dpi=100, bbox_inches="tight")
plt.show()
"""


HOME_README = """\
# alice's home on site-a

This folder lives on a CS3 site (a Reva server), not on the Jupyter server's disk. The
cs3lab demo (`bash scripts/demo.sh`) created it with:

* `welcome.ipynb`: what cs3lab is and what to try first;
* `analysis/measurements.csv`: a small table of weather station readings;
* `analysis/station-summary.ipynb`: a short analysis of those readings;
* `analysis/calibration.ipynb`: the stations' calibration offsets.

The `analysis` folder is shared with bob and carol.

Everything is deleted when the demo stops.
"""

CALIBRATION_INTRO = """\
# Sensor calibration

The offsets below correct each station's thermometer against the reference sensor.
"""

CALIBRATION_CODE = """\
OFFSETS_C = {"north": -0.3, "river": 0.2, "ridge": 0.0}
print(OFFSETS_C)
"""


def notebook(*cells) -> bytes:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nbformat.writes(nb).encode("utf-8")


def seed_files() -> dict[str, bytes]:
    csv_text = measurements_csv()
    return {
        "README.md": HOME_README.encode(),
        "welcome.ipynb": notebook(
            new_markdown_cell(WELCOME_INTRO),
            new_markdown_cell(WELCOME_KERNEL),
            new_code_cell(WELCOME_CODE),
        ),
        "analysis/measurements.csv": csv_text.encode(),
        "analysis/station-summary.ipynb": notebook(
            new_markdown_cell(SUMMARY_INTRO), new_code_cell(SUMMARY_CODE)
        ),
        "analysis/calibration.ipynb": notebook(
            new_markdown_cell(CALIBRATION_INTRO), new_code_cell(CALIBRATION_CODE)
        ),
    }
