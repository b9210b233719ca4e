"""The "Training" tab: the bundled pretrained-vs-scratch report (``python -m training compare-init``).

It draws ``assets/reports/compare_init_extractive_qa/report.json`` with ``mmdemo.compare_report``
(the same figures and table as the report's HTML page) and offers that page for download.
The report is read once, when the app is built: it is a file, not a model.
"""

from __future__ import annotations

import gradio as gr

from mmdemo.compare_report import (
    BUNDLED_REPORT,
    HTML_FILE,
    REPORT_FILE,
    ReportError,
    describe,
    load_report,
    loss_figure,
    metric_figure,
    summary_table,
)
from mmdemo.config import Settings
from mmdemo.names import without_dirs


def build_tab(settings: Settings) -> None:
    """Lay out the tab inside the current ``gr.Blocks``; says so when no report is bundled."""
    folder = settings.assets_dir / BUNDLED_REPORT
    with gr.Tab("Training"):
        gr.Markdown("## Pretrained vs scratch\nThe same model trained twice on the same data, seed, config and "
                    "budget: once from pretrained weights, once from randomly initialised ones.")
        if not (folder / REPORT_FILE).is_file():
            gr.Markdown(f"No pretrained-vs-scratch report is bundled here (expected assets/{BUNDLED_REPORT}/{REPORT_FILE}). "
                        f"Make one with `python -m training compare-init <task> --data DIR --out assets/{BUNDLED_REPORT}`.",
                        elem_id="training-status")
            return
        try:
            report = load_report(folder)
        except ReportError as error:
            gr.Markdown(f"The bundled report cannot be shown: {without_dirs(str(error))}", elem_id="training-status")
            return
        gr.Markdown("\n\n".join(describe(report)), elem_id="training-status")
        headers, rows = summary_table(report)
        gr.Dataframe(value=rows, headers=headers, label="Best and final epoch of each run", interactive=False)
        gr.Plot(loss_figure(report), label="Training (solid) and validation (dashed) loss per epoch")
        metrics = [name for name in report.metric_names() if name != report.val_loss]
        if metrics:  # none when the runs were never evaluated
            metric = gr.Dropdown(metrics, value=metrics[0], label="Validation metric", elem_id="training-metric")
            metric_plot = gr.Plot(metric_figure(report, metrics[0]),
                                  label="Validation metric per epoch (best epoch circled)")
            metric.change(lambda name: metric_figure(report, name), inputs=metric, outputs=metric_plot,
                          api_visibility="private")
        if (folder / HTML_FILE).is_file():
            gr.File(value=str(folder / HTML_FILE), label="The report as one page (opens offline)")
